"""The three sides of a round trip: the tokenring binary, PyJWT (in this process) and panva
jose (jose_peer.mjs, one Node process per call). Each call is bounded by SUBPROCESS_SECS.

A verdict is a Verdict: accepted or not, the claims and header read when accepted, and a
diagnostic (tokenring's standard error, PyJWT's exception or warnings, jose's error code) that
the strictness table's cells are matched against.
"""

import json
import os
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import jwt

HERE = Path(__file__).resolve().parent

# Each subprocess (one tokenring command, one Node process) must finish within this; a hang is a
# failure of the case, not of the whole run.
SUBPROCESS_SECS = 60


class Broken(Exception):
    """A side did not behave like a verifier at all (crashed, hung, printed nonsense)."""


@dataclass
class Verdict:
    accepted: bool
    diagnostic: str = ""
    claims: dict | None = None
    header: dict | None = None
    printed: bytes = b""

    def summary(self):
        word = "accepts" if self.accepted else "refuses"
        diagnostic = " / ".join(line.strip() for line in self.diagnostic.splitlines() if line.strip())
        return f"{word} ({diagnostic})" if diagnostic else word


@dataclass
class Ran:
    code: int
    out: bytes
    err: str = field(repr=False)


class Tokenring:
    """The real binary, run as a user would."""

    def __init__(self, binary, workdir):
        self.binary = str(binary)
        self.workdir = Path(workdir)

    def run(self, *args, stdin=None):
        try:
            done = subprocess.run(
                [self.binary, *map(str, args)],
                input=stdin,
                capture_output=True,
                timeout=SUBPROCESS_SECS,
                cwd=self.workdir,
            )
        except subprocess.TimeoutExpired as timeout:
            command = " ".join(map(str, args[:2]))
            raise Broken(f"`tokenring {command}` ran over {SUBPROCESS_SECS} s") from timeout
        return Ran(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))

    def must(self, *args, stdin=None):
        ran = self.run(*args, stdin=stdin)
        if ran.code != 0:
            raise Broken(f"`tokenring {' '.join(map(str, args[:2]))}` exited {ran.code}: {ran.err.strip()}")
        return ran.out.decode()

    def sign(self, keys, claims_text, now, ttl="1h"):
        return self.must("sign", "--keys", keys, "--claims", claims_text, "--now", now, "--ttl", ttl).strip()

    def verify(self, keys, token, *flags):
        """Verifies `token` (given on standard input, as the CLI advises) against the key file."""
        ran = self.run("verify", "--keys", keys, *flags, "-", stdin=token.encode() + b"\n")
        if ran.code == 0:
            return Verdict(True, claims=json.loads(ran.out), printed=ran.out)
        if ran.code in (1, 2):
            return Verdict(False, diagnostic=ran.err)
        raise Broken(f"tokenring verify exited {ran.code}: {ran.err.strip()}")

    def states(self, keys, now):
        """Each key's state from `keys list`, by kid (None for a key without one)."""
        lines = self.must("keys", "list", keys, "--now", now).splitlines()
        if not lines or lines[0].split()[:2] != ["KID", "STATE"]:
            raise Broken("`tokenring keys list` printed no KID STATE header")
        states = {}
        for line in lines[1:]:
            if not line or line.startswith("key identifiers"):
                continue
            if line.startswith("(no kid)"):
                states[None] = line.split()[2]
            else:
                kid, state = line.split()[:2]
                states[kid] = state
        return states


# The states in which `tokenring keys list` says a key verifies its tokens.
VERIFYING_STATES = {"active", "pending", "retiring"}


def write_key_file(path, text):
    """A key file as an operator would keep it: readable by its owner only."""
    path = Path(path)
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def _pyjwt_key(keyset_text, token, select):
    keyset = jwt.PyJWKSet.from_json(keyset_text)
    if select == "first":
        return keyset.keys[0]
    kid = jwt.get_unverified_header(token).get("kid")
    if kid is not None:
        return keyset[kid]
    if len(keyset.keys) != 1:
        raise LookupError("the token names no kid and the set holds several keys")
    return keyset.keys[0]


def pyjwt_verify(token, keyset_text=None, key=None, select="kid", **options):
    """PyJWT's jwt.decode, HS256 only, with the key from PyJWKSet (by the header's kid, or the
    set's first key for select="first") or the given raw key."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if key is None:
                key = _pyjwt_key(keyset_text, token, select)
            claims = jwt.decode(token, key, algorithms=["HS256"], **options)
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, LookupError, ValueError) as error:
            return Verdict(False, diagnostic=f"{type(error).__name__}: {error}")
    noted = " ".join(sorted({warning.category.__name__ for warning in caught}))
    return Verdict(True, diagnostic=noted, claims=claims, header=header)


def pyjwt_kids(keyset_text):
    """The kids of the keys PyJWKSet loads from a key file, or the error that stops it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return {key.key_id for key in jwt.PyJWKSet.from_json(keyset_text).keys}, None
        except (jwt.PyJWTError, LookupError, ValueError) as error:
            return None, f"{type(error).__name__}: {error}"


def jose(*requests, node="node"):
    """Runs jose_peer.mjs on `requests`; one result dict per request."""
    try:
        done = subprocess.run(
            [node, str(HERE / "jose_peer.mjs")],
            input=json.dumps(list(requests)).encode(),
            capture_output=True,
            timeout=SUBPROCESS_SECS,
            cwd=HERE,
        )
    except subprocess.TimeoutExpired as timeout:
        raise Broken(f"jose_peer.mjs ran over {SUBPROCESS_SECS} s") from timeout
    if done.returncode != 0:
        raise Broken(f"jose_peer.mjs exited {done.returncode}: {done.stderr.decode(errors='replace').strip()[-400:]}")
    results = json.loads(done.stdout)
    if len(results) != len(requests):
        raise Broken("jose_peer.mjs answered a different number of requests")
    return results


def jose_verdict(result):
    if result["ok"]:
        return Verdict(True, claims=result["payload"], header=result.get("header"))
    return Verdict(False, diagnostic=result["error"])


def jose_verify(token, keyset_text=None, jwk=None, select="kid", **options):
    request = {"op": "verify", "token": token, "options": options}
    if jwk is not None:
        request["jwk"] = jwk
    else:
        request.update(keyset=keyset_text, select=select)
    return jose_verdict(jose(request)[0])
