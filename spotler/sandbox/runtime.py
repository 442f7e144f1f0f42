"""Everything one running sandbox keeps: the account, and the per-request machinery."""

from dataclasses import dataclass

from spotler.sandbox.auth import SignatureChecker
from spotler.sandbox.counts import RequestCounts
from spotler.sandbox.state import Account
from spotler.sandbox.traffic import Traffic


@dataclass
class Sandbox:
    account: Account
    signatures: SignatureChecker
    traffic: Traffic
    counts: RequestCounts

    @classmethod
    def create(cls, account: Account | None = None) -> "Sandbox":
        account = account or Account()
        return cls(
            account=account,
            signatures=SignatureChecker(account.secret_for),
            traffic=Traffic(),
            counts=RequestCounts(),
        )

    def reset(self) -> None:
        """Empty account, default settings and credentials, no counts, no pending pauses."""
        self.account.reset()
        self.traffic.reset()
        self.counts.clear()
        self.signatures.nonces.clear()
