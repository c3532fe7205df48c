"""Secret values never reach a log line."""

from __future__ import annotations

from dockyard.core.redaction import Redactor


def test_masks_every_occurrence_of_each_secret() -> None:
    redact = Redactor(["hunter2", "s3cr3t-token"])
    line = "login hunter2 then hunter2 with s3cr3t-token"
    assert redact(line) == "login ••• then ••• with •••"


def test_leaves_lines_without_secrets_alone() -> None:
    redact = Redactor(["hunter2"])
    assert redact("nothing to see") == "nothing to see"
    assert Redactor([])("hunter2") == "hunter2"


def test_masks_the_longest_secret_whole_when_one_contains_another() -> None:
    redact = Redactor(["abc", "abcdef"])
    assert redact("x abcdef y abc") == "x ••• y •••"


def test_ignores_values_too_short_to_mask_safely() -> None:
    redact = Redactor(["", "a", "42"])
    assert redact("a 42 answer") == "a 42 answer"


def test_treats_secrets_as_text_not_patterns() -> None:
    redact = Redactor(["p.ss*(1"])
    assert redact("pass1 p.ss*(1") == "pass1 •••"


def test_added_secrets_are_masked_from_then_on() -> None:
    redact = Redactor(["first-secret"])
    assert redact("second-secret") == "second-secret"
    redact.add("second-secret")
    assert redact("first-secret second-secret") == "••• •••"


def test_masks_each_line_of_a_multi_line_secret() -> None:
    key = "-----BEGIN KEY-----\nMIIEabcdefgh\nXYZ0123456\n-----END KEY-----\n"
    redact = Redactor([key])
    assert redact("key line: MIIEabcdefgh") == "key line: •••"
    assert redact("XYZ0123456") == "•••"


def test_secret_read_with_a_trailing_newline_still_matches() -> None:
    redact = Redactor(["hunter2\n"])
    assert redact("password=hunter2;") == "password=•••;"


def test_every_value_read_by_the_process_is_masked_in_errors_data_and_streams() -> None:
    import io

    from dockyard.core.errors import PipelineFailed
    from dockyard.core.redaction import RedactingStream, redact_data, remember_secret

    remember_secret("tok-4f1e9b")
    error = PipelineFailed("it exited (last output: token=tok-4f1e9b)", details="tok-4f1e9b")
    assert error.message == "it exited (last output: token=•••)" and error.details == "•••"
    assert redact_data({"error": ["x tok-4f1e9b"], "n": 3}) == {"error": ["x •••"], "n": 3}
    target = io.StringIO()
    stream = RedactingStream(target)
    stream.write("token=tok-4f")  # a value written in two pieces is still masked whole
    stream.write("1e9b\nnext")
    assert target.getvalue() == "token=•••\n"
    stream.flush()
    assert target.getvalue() == "token=•••\nnext"
