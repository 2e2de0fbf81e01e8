"""The local tools' quiet mode: a handler call's printing is dropped, nobody else's."""

import threading

from local import quiet


def test_a_handler_call_is_muted_but_another_threads_lines_still_print(capsys):
    inside, printed = threading.Event(), threading.Event()

    def handler_call() -> None:
        with quiet.handler_output(verbose=False):
            print('{"_aws": {"CloudWatchMetrics": []}}')  # what Powertools Metrics prints
            inside.set()
            printed.wait(10)  # the server's own line is printed while this call is still running

    worker = threading.Thread(target=handler_call)
    worker.start()
    assert inside.wait(10)
    print("API at http://127.0.0.1:3000")
    printed.set()
    worker.join(10)
    print('{"after": true}')
    assert capsys.readouterr().out == 'API at http://127.0.0.1:3000\n{"after": true}\n'


def test_verbose_keeps_the_handlers_lines(capsys):
    with quiet.handler_output(verbose=True):
        print('{"_aws": {}}')
    assert capsys.readouterr().out == '{"_aws": {}}\n'
