"""layer/resolve.py without the network: the pip command it builds, and how it measures and guards."""

from __future__ import annotations

import pytest

from tests.deploy.project_files import load_resolve

resolve = load_resolve()


def option_values(command: list[str], option: str) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command) if word == option]


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_pip_asks_for_binary_wheels_of_lambdas_platform_only(tmp_path, arch):
    command = resolve.pip_command(arch, "3.12", tmp_path, [])
    assert "--only-binary=:all:" in command
    assert option_values(command, "--python-version") == ["3.12"]
    assert option_values(command, "--implementation") == ["cp"]
    assert option_values(command, "--target") == [str(tmp_path)]
    platforms = option_values(command, "--platform")
    assert {f"manylinux2014_{arch}", f"manylinux_2_28_{arch}", f"manylinux_2_34_{arch}"} <= set(platforms)
    # Amazon Linux 2023 has glibc 2.34: a wheel built for a newer glibc would not load.
    assert f"manylinux_2_35_{arch}" not in platforms
    assert all(platform.endswith(arch) for platform in platforms)
    assert option_values(command, "--requirement") == [str(resolve.REQUIREMENTS)]


def test_keras_adds_the_tensorflow_wheel_that_exists_for_the_arch():
    pin = resolve.tensorflow_pin()
    assert resolve.extra_requirements("keras", "x86_64") == [f"tensorflow-cpu=={pin}", f"tf-keras=={pin}"]
    assert resolve.extra_requirements("keras", "aarch64") == [f"tensorflow=={pin}", f"tf-keras=={pin}"]
    assert resolve.extra_requirements("litert", "x86_64") == []


def test_refuses_to_empty_a_directory_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(resolve.ResolveError, match="refusing"):
        resolve.prepare_out(tmp_path)
    assert (tmp_path / "precious.txt").exists()


def test_replaces_its_own_previous_output(tmp_path):
    (tmp_path / resolve.MANIFEST).write_text("{}")
    (tmp_path / "old_package").mkdir()
    resolve.prepare_out(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_sizes_are_counted_per_distribution_including_bytecode(tmp_path):
    package = tmp_path / "leafy"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_bytes(b"x" * 1000)
    (package / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(b"x" * 500)
    (package / "native.so").write_bytes(b"x" * 2_000_000)
    dist_info = tmp_path / "leafy-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "RECORD").write_text(
        "leafy/__init__.py,,\nleafy/native.so,,\nleafy-1.0.dist-info/RECORD,,\n"
    )
    (tmp_path / "stray.py").write_bytes(b"x" * 10)

    sizes = resolve.sizes_by_package(tmp_path)

    record_size = (dist_info / "RECORD").stat().st_size
    assert sizes == {"leafy-1.0": 2_001_500 + record_size, "(unrecorded) stray.py": 10}


def test_exits_non_zero_above_the_limit(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(resolve, "resolve", lambda *args: 251.0)
    assert resolve.main(["--arch", "x86_64", "--out", str(tmp_path), "--runtime", "litert"]) == 1
    assert "over the 250 MB limit" in capsys.readouterr().err
    monkeypatch.setattr(resolve, "resolve", lambda *args: 249.0)
    assert resolve.main(["--arch", "x86_64", "--out", str(tmp_path), "--runtime", "litert"]) == 0


def fake_botocore(root, services):
    data = root / "botocore" / "data"
    for name in services:
        (data / name / "2006-03-01").mkdir(parents=True)
        (data / name / "2006-03-01" / "service-2.json.gz").write_bytes(b"model")
    for shared in ("endpoints.json", "partitions.json", "_retry.json", "sdk-default-configuration.json"):
        (data / shared).write_text("{}")
    return data


def test_botocore_keeps_only_the_models_of_the_services_named(tmp_path):
    data = fake_botocore(tmp_path, ["s3", "dynamodb", "sqs", "ec2", "sagemaker"])
    removed = resolve.trim_botocore_data(tmp_path, ("s3", "dynamodb"))
    assert removed == ["ec2", "sagemaker", "sqs"]
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == ["dynamodb", "s3"]
    # The files every client needs (endpoint resolution, retry rules) stay.
    assert {"endpoints.json", "partitions.json", "_retry.json"} <= {p.name for p in data.iterdir()}


def test_a_service_botocore_does_not_know_is_an_error_not_a_silent_gap(tmp_path):
    fake_botocore(tmp_path, ["s3"])
    with pytest.raises(resolve.ResolveError, match="no model for dynamodb"):
        resolve.trim_botocore_data(tmp_path, ("s3", "dynamodb"))


def test_the_option_defaults_to_the_functions_services_and_all_keeps_everything():
    args = resolve.parse_args(["--arch", "x86_64", "--out", "x"])
    assert resolve.botocore_services(args) == resolve.FUNCTION_SERVICES == ("s3", "dynamodb", "kms", "events")
    args = resolve.parse_args(["--arch", "x86_64", "--out", "x", "--botocore-services", "s3,dynamodb,sqs"])
    assert resolve.botocore_services(args) == ("s3", "dynamodb", "sqs")
    assert resolve.botocore_services(resolve.parse_args(["--arch", "x86_64", "--out", "x",
                                                         "--botocore-services", "all"])) is None


def test_every_client_the_function_code_creates_is_in_the_trimmed_set():
    import re

    from tests.deploy.project_files import ROOT

    pattern = re.compile(r"""\.client\(\s*["']([a-z0-9-]+)["']""")
    used = {name for path in (ROOT / "handler").rglob("*.py") for name in pattern.findall(path.read_text())}
    used |= {name for path in (ROOT / "model").rglob("*.py") for name in pattern.findall(path.read_text())}
    assert used and used <= set(resolve.FUNCTION_SERVICES), used
