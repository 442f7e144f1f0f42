"""Task functions the queue tests enqueue; a worker process imports them by path."""


def succeed() -> str:
    return "done"


def fail() -> None:
    raise RuntimeError("the sample task failed on purpose")
