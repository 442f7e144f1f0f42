"""The machines and the people of the distributed test (tests/sync/test_distributed.py): web
servers that can be killed and started again, the shop's system, visitors signing up, and the
shop asking for temporary lists."""

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tests.public.subscribe_helpers import JSON_URL, SHOP
from tests.sync.test_faults import customer, free_port, start_web_server, stop_web_server

LIST_SIZE = 50  # contacts named per temporary list
NO_ANSWER_SECONDS = 60  # the shop gives up on a request unanswered this long


@dataclass
class WebMachine:
    """gunicorn on a machine of its own: killed with its process group, started again on its
    port (as systemd's Restart=always would)."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_web_server(port=self.port, env=self.env)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextlib.contextmanager
def web_machine(env: dict[str, str]) -> Iterator[WebMachine]:
    machine = WebMachine(env)
    machine.start()
    try:
        yield machine
    finally:
        stop_web_server(machine.process)


@dataclass
class Shop:
    """The shop's side, through the API of one web server. A request that gets no answer (the
    server died under it) is sent again until one comes, as a real client would: a PUT and a
    batch of PUTs are idempotent."""

    url: str
    secret: str
    count: int  # customers C-0 … C-(count - 1)
    first_names: dict[str, str] = field(default_factory=dict)  # the latest sent per external id
    made: int = 0
    unanswered: int = 0  # requests sent again because no answer came
    waiting_for_answer: bool = False

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.secret}"
        self.random = random.Random(16)

    def send_all(self) -> None:
        for start in range(0, self.count, 1000):
            items = [{"external_id": f"C-{n}", **customer(n)} for n in range(start, start + 1000)]
            answer = self.call("POST", "/api/v1/contacts/batch", {"contacts": items})
            assert answer.status_code == 202 and answer.json()["rejected"] == 0, answer.text

    def edit_one(self) -> None:
        self.made += 1
        n = self.random.randrange(self.count)
        external_id, first_name = f"C-{n}", f"Edit {self.made}"
        answer = self.call(
            "PUT", f"/api/v1/contacts/{external_id}", customer(n, first_name=first_name)
        )
        assert answer.status_code == 202, answer.text
        self.first_names[external_id] = first_name

    def call(self, method: str, path: str, body: dict) -> requests.Response:
        deadline = time.monotonic() + NO_ANSWER_SECONDS
        while True:
            self.waiting_for_answer = True
            try:
                return self.session.request(method, self.url + path, json=body, timeout=60)
            except requests.ConnectionError:
                self.unanswered += 1
                assert time.monotonic() < deadline, f"no answer to {method} {path}"
                time.sleep(0.2)
            finally:
                self.waiting_for_answer = False


def visitor(n: int) -> str:
    return f"visitor{n}@example.org"


def sign_up(urls: list[str], *, count: int) -> list[tuple[int, dict]]:
    """`count` visitors sign up at once through the newsletter form of each web server in turn,
    from the shop's page; each answer's status and body."""

    def one(n: int) -> tuple[int, dict]:
        answer = requests.post(
            urls[n % len(urls)] + JSON_URL,
            json={"email": visitor(n), "firstName": f"Visitor {n}"},
            headers={"Origin": SHOP},
            timeout=30,
        )
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def ask_for_lists(urls: list[str], *, secret: str, names: int) -> list[requests.Response]:
    """The shop asks for `names` temporary lists at once, each name twice (through each web
    server once), each of LIST_SIZE customers."""

    def one(i: int) -> requests.Response:
        n = i // 2
        ids = [f"C-{k}" for k in range(n * LIST_SIZE, (n + 1) * LIST_SIZE)]
        return requests.post(
            urls[i % len(urls)] + "/api/v1/lists",
            json={"name": f"Selection {n}", "external_ids": ids},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=2 * names) as pool:
        return list(pool.map(one, range(2 * names)))
