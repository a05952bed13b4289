"""What a failed delivery means for its row: when it is tried again, and when Slack's 429 holds
every sender instead of spending one of the row's attempts."""

from __future__ import annotations

from bot.ports import DeliveryError
from rituals.outbox.failures import MAX_ATTEMPTS, pause_for, retry_delay


def test_retries_back_off_doubling_up_to_five_minutes_spread_by_jitter() -> None:
    delays = [retry_delay(n, "http_503", ambiguous_wait=30, jitter=0) for n in range(1, 12)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert retry_delay(3, "http_503", ambiguous_wait=30, jitter=1) == 6  # half as long again
    assert MAX_ATTEMPTS == 8  # then the row fails for good (`gave_up:<reason>`)


def test_a_send_with_no_answer_waits_long_enough_for_slack_to_finish_it() -> None:
    assert retry_delay(1, "timeout", ambiguous_wait=30, jitter=0) == 30
    assert retry_delay(1, "ServerDisconnectedError", ambiguous_wait=30, jitter=0) == 30
    assert retry_delay(10, "timeout", ambiguous_wait=30, jitter=0) == 300


def test_only_a_429_pauses_the_senders() -> None:
    assert pause_for(DeliveryError("ratelimited", permanent=False, retry_after=7)) == 7
    assert pause_for(DeliveryError("http_503", permanent=False)) is None
    assert pause_for(DeliveryError("invalid_auth", permanent=True, retry_after=3)) is None
