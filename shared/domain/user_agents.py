"""What a user-agent string says about the client, through maintained parsers.

ua-parser (with its ua-parser-builtins rules) names the browser, OS and device families;
crawlerdetect says whether the client is a bot or automation (headless browsers, curl,
HTTP libraries, PhantomJS). Both are imported on first use: a fresh interpreter spends
about 130 ms importing ua-parser and compiling its rules for the first parse, about a
third of `import boto3` (370 ms on the same machine), which the cold-import budget of
the functions does not have to carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawlerdetect import CrawlerDetect

# The parser reports the model an Android build declares; these are the models Android's
# own emulator images declare (the SDK's "Android SDK built for x86" and the Google-play
# images' "sdk_gphone64_x86_64" and relatives). Matched on the parsed model, not the string.
_EMULATOR_MODEL_PREFIXES = ("android sdk built for", "sdk_gphone", "google_sdk", "emulator")
# ua-parser files crawlers under this device family.
_SPIDER = "Spider"


@dataclass(frozen=True)
class UserAgentTraits:
    """The non-personal reading of one user-agent string."""

    user_agent_family: str | None
    os_family: str | None
    device_family: str | None
    automated: bool
    virtual_device: bool


@cache
def _crawler_detect() -> CrawlerDetect:
    from crawlerdetect import CrawlerDetect  # on first use, see above

    return CrawlerDetect()


def read_user_agent(user_agent: str) -> UserAgentTraits:
    import ua_parser  # on first use, see the docstring

    parsed = ua_parser.parse(user_agent)
    device = parsed.device
    model = (device.model or device.family).lower() if device else ""
    return UserAgentTraits(
        user_agent_family=parsed.user_agent.family if parsed.user_agent else None,
        os_family=parsed.os.family if parsed.os else None,
        device_family=device.family if device else None,
        automated=bool(device and device.family == _SPIDER)
        or _crawler_detect().isCrawler(user_agent),
        virtual_device=model.startswith(_EMULATOR_MODEL_PREFIXES),
    )
