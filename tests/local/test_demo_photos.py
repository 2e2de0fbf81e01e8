"""Without ../shared the demo falls back on the attributed photos committed in local/."""

from local.demo import FIXTURE_LEAVES, FIXTURE_PHOTOS, leaf_folder, photo_folder


def test_the_demo_uses_shared_photos_when_present_and_the_committed_ones_otherwise(tmp_path):
    assert (leaf_folder(tmp_path), photo_folder(tmp_path)) == (tmp_path, tmp_path)
    missing = tmp_path / "no-shared"
    assert (leaf_folder(missing), photo_folder(missing)) == (FIXTURE_LEAVES, FIXTURE_PHOTOS)
    assert len([p for p in FIXTURE_LEAVES.iterdir() if p.is_dir()]) == 9  # eight classes and a scene


def test_the_ms_column_has_one_width_so_a_slow_photo_does_not_narrow_the_others():
    from local.demo import _milliseconds

    assert {len(_milliseconds(ms)) for ms in (5.7, 55.1, 122.7, 1999.0)} == {6}
    assert _milliseconds(None) == ""
