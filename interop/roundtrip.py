"""Round trips between the tokenring binary, PyJWT and panva jose; run by interop/run.

    roundtrip.py --tokenring BIN [--only TEXT]

Prints one line per case (ok / FAIL), then `N passed, N failed`; exits 1 if any case failed.
Cases that wait on another change name it, so that their failure reads as what it is.
"""

import argparse
import base64
import json
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import jwt

import peers
import strictness
from peers import Broken, Tokenring, jose, jose_verdict, jose_verify, pyjwt_kids, pyjwt_verify, write_key_file

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "interop.md"

# What the revocation cases wait for: the revoked key's secret erased from the key file.
ERASED_SECRET = "issue 23 item 2, branch sec: a revoked key's secret erased from the key file"

ISSUER = "https://issuer.example"

# Claims as a user types them for `tokenring sign --claims`: every registered claim the user
# gives (sign adds iat, nbf and exp), text beyond ASCII, and every kind of JSON escape.
CLAIMS_AUD_STRING = (
    r'{"iss":"https://issuer.example","sub":"user-3","aud":"api","jti":"6f1c2b0e-interop",'
    r'"name":"Zoë 🦀 中文 עברית","escapes":"quote \" backslash \\ slash \/ b \b f \f n \n r \r t \t'
    r' nul \u0000 unit-separator \u001f e-acute \u00e9 line-separator \u2028 crab \ud83e\udd80",'
    r'"nested":{"list":[1,-2.5,true,false,null,"x"],"empty":{},"none":[]},"largest_exact_in_js":9007199254740991}'
)
CLAIMS_AUD_LIST = (
    r'{"aud":["billing","api"],"iss":"https://issuer.example","sub":"ユーザー","jti":"\u0041\u00df",'
    r'"scope":"read write","n":0}'
)


def expected_claims(text, now, ttl_secs):
    return {"iat": now, "nbf": now, "exp": now + ttl_secs, **json.loads(text)}


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Failed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failed(message)


def expect_equal(seen, wanted, what):
    expect(seen == wanted, f"{what}: got {seen!r}, want {wanted!r}")


def expect_accepted(verdict, what):
    expect(verdict.accepted, f"{what} refused: {verdict.diagnostic.strip()}")
    return verdict


def expect_refused(verdict, what):
    expect(not verdict.accepted, f"{what} accepted the token")
    return verdict


@dataclass
class Case:
    name: str
    run: object
    waits_on: str | None = None


class World:
    """Key files and tokens made once by the real binary and shared by the cases."""

    def __init__(self, tokenring, workdir):
        self.tokenring = tokenring
        self.dir = Path(workdir)
        self.now = int(time.time())
        self._memo = {}

    def memo(self, name, make):
        if name not in self._memo:
            try:
                self._memo[name] = ("ok", make())
            except Exception as error:  # every dependent case reports the same cause
                self._memo[name] = ("error", error)
        state, value = self._memo[name]
        if state == "error":
            raise Broken(f"setup `{name}` failed: {value}")
        return value

    def path(self, name):
        return self.dir / name

    def new_key_file(self, name, now):
        path = self.path(name)
        self.tokenring.must("keys", "new", path, "--now", now)
        return path

    @staticmethod
    def keys_of(path):
        return json.loads(Path(path).read_text())["keys"]

    # A key file made by `keys new`: one key, with a kid.
    def keyed(self):
        return self.memo("keyed", lambda: self.new_key_file("keyed.json", self.now))

    # A key file whose one key has no kid. `keys new` always gives one, so the key is written by
    # hand, as an operator would: a JWK Set of one oct key, its secret from `keys new`.
    def kidless(self):
        def make():
            source = self.new_key_file("kidless-source.json", self.now)
            (key,) = self.keys_of(source)
            member = {"kty": "oct", "use": "sig", "alg": "HS256", "k": key["k"]}
            return write_key_file(self.path("kidless.json"), json.dumps({"keys": [member]}, indent=2) + "\n")

        return self.memo("kidless", make)

    # Two keys after `keys rotate --propagation 0s`: the new one signs, the old one verifies.
    def rotated(self):
        def make():
            path = self.new_key_file("rotated.json", self.now - 60)
            self.tokenring.must("keys", "rotate", path, "--now", self.now - 60, "--propagation", "0s")
            keys = self.keys_of(path)
            expect(len(keys) == 2, f"keys rotate left {len(keys)} keys")
            return path

        return self.memo("rotated", make)

    def lifecycle(self):
        return self.memo("lifecycle", lambda: Lifecycle(self))


class Lifecycle:
    """One key file through `keys new`, `keys rotate` and `keys revoke`, its text and the
    kids `keys list` says verify after each step, and a token of each key."""

    def __init__(self, world):
        tokenring, now = world.tokenring, world.now
        self.path = world.new_key_file("lifecycle.json", now)
        self.text = {}
        self.verifying = {}

        def snapshot(step):
            self.text[step] = self.path.read_text()
            states = tokenring.states(self.path, now)
            self.verifying[step] = {kid for kid, state in states.items() if state in peers.VERIFYING_STATES}

        snapshot("new")
        (first,) = World.keys_of(self.path)
        self.first_kid, self.first_secret = first["kid"], first["k"]
        self.first_token = tokenring.sign(self.path, '{"sub":"first"}', now)
        tokenring.must("keys", "rotate", self.path, "--now", now, "--propagation", "0s")
        snapshot("rotate")
        (second,) = [key for key in World.keys_of(self.path) if key.get("kid") != self.first_kid]
        self.second_kid = second["kid"]
        self.second_token = tokenring.sign(self.path, '{"sub":"second"}', now)
        expect_equal(jwt.get_unverified_header(self.second_token).get("kid"), self.second_kid, "signer after rotate")
        tokenring.must("keys", "revoke", self.path, self.first_kid, "--now", now)
        snapshot("revoke")


CASES = []


def case(name, waits_on=None):
    def register(function):
        CASES.append(Case(name, function, waits_on))
        return function

    return register


# tokenring signs; PyJWT and jose verify and read the same claims.

SIGNED = {
    "kid": "keyed",
    "no-kid": "kidless",
}
CLAIM_SETS = {"aud-string": CLAIMS_AUD_STRING, "aud-list": CLAIMS_AUD_LIST}


def signed_by_tokenring(world, key_file, claims):
    def make():
        path = getattr(world, SIGNED[key_file])()
        token = world.tokenring.sign(path, CLAIM_SETS[claims], world.now, "1h")
        return path, token, expected_claims(CLAIM_SETS[claims], world.now, 3600)

    return world.memo(f"signed {key_file} {claims}", make)


def expected_header(world, path):
    (key,) = World.keys_of(path)
    header = {"alg": "HS256", "typ": "JWT"}
    if "kid" in key:
        header["kid"] = key["kid"]
    return header


def add_signing_cases():
    for key_file in SIGNED:
        for claims in CLAIM_SETS:

            def to_pyjwt(world, key_file=key_file, claims=claims):
                path, token, wanted = signed_by_tokenring(world, key_file, claims)
                (member,) = World.keys_of(path)
                by_set = expect_accepted(
                    pyjwt_verify(token, path.read_text(), audience="api", issuer=ISSUER), "PyJWT (PyJWKSet)"
                )
                expect_equal(by_set.claims, wanted, "claims PyJWT read")
                expect_equal(by_set.header, expected_header(world, path), "header PyJWT read")
                raw = unb64(member["k"])
                by_key = expect_accepted(pyjwt_verify(token, key=raw, audience="api", issuer=ISSUER), "PyJWT (raw key)")
                expect_equal(by_key.claims, wanted, "claims PyJWT read with the raw key")

            def to_jose(world, key_file=key_file, claims=claims):
                path, token, wanted = signed_by_tokenring(world, key_file, claims)
                (member,) = World.keys_of(path)
                options = {"audience": "api", "issuer": ISSUER}
                results = jose(
                    {"op": "verify", "token": token, "jwk": member, "options": options},
                    {"op": "verify", "token": token, "keyset": path.read_text(), "options": options},
                )
                for how, result in zip(("importJWK", "key set by kid"), results):
                    verdict = expect_accepted(jose_verdict(result), f"jose ({how})")
                    expect_equal(verdict.claims, wanted, f"claims jose read ({how})")
                    expect_equal(verdict.header, expected_header(world, path), f"header jose read ({how})")

            def to_itself(world, key_file=key_file, claims=claims):
                path, token, wanted = signed_by_tokenring(world, key_file, claims)
                verdict = world.tokenring.verify(path, token, "--aud", "api", "--iss", ISSUER, "--now", world.now)
                expect_accepted(verdict, "tokenring verify")
                expect_equal(verdict.claims, wanted, "claims tokenring printed")

            case(f"tokenring signs ({key_file}, {claims}) -> PyJWT jwt.decode")(to_pyjwt)
            case(f"tokenring signs ({key_file}, {claims}) -> jose jwtVerify")(to_jose)
            case(f"tokenring signs ({key_file}, {claims}) -> tokenring verify")(to_itself)


add_signing_cases()


# Each peer signs, with and without kid; tokenring verify accepts and prints the same claims.


def peer_claims(world):
    return {
        "iss": ISSUER,
        "sub": "Zoë 🦀",
        "aud": ["api", "billing"],
        "jti": "peer-\u2028-\u0000-\"quoted\"-\\",
        "iat": world.now,
        "nbf": world.now,
        "exp": world.now + 600,
        "name": "中文 \t tab \n newline \u001f",
        "nested": {"list": [1, -2.5, True, None], "empty": {}},
    }


def peer_signing_key(world, with_kid):
    """(kid, raw key): the active key of the rotated file for a token with a kid; the older,
    still verifying key for one without, so that tokenring must try every key."""
    new, old = sorted(World.keys_of(world.rotated()), key=lambda key: key["created_at"], reverse=True)
    key = new if with_kid else old
    return key["kid"], unb64(key["k"]), key


def check_tokenring_reads(world, token, wanted):
    verdict = world.tokenring.verify(world.rotated(), token, "--aud", "api", "--iss", ISSUER, "--now", world.now)
    expect_accepted(verdict, "tokenring verify")
    expect_equal(verdict.claims, wanted, "claims tokenring printed")
    payload = unb64(token.split(".")[1])
    expect_equal(verdict.printed, payload + b"\n", "bytes tokenring printed (the payload as signed)")


def add_peer_signing_cases():
    for with_kid in (True, False):
        label = "with kid" if with_kid else "without kid"

        def from_pyjwt(world, with_kid=with_kid):
            kid, raw, _ = peer_signing_key(world, with_kid)
            headers = {"kid": kid} if with_kid else None
            token = jwt.encode(peer_claims(world), raw, algorithm="HS256", headers=headers)
            expect_equal(jwt.get_unverified_header(token).get("kid"), kid if with_kid else None, "PyJWT's kid")
            check_tokenring_reads(world, token, peer_claims(world))

        def from_jose(world, with_kid=with_kid):
            kid, _, member = peer_signing_key(world, with_kid)
            header = {"alg": "HS256", "kid": kid} if with_kid else {"alg": "HS256"}
            (result,) = jose({"op": "sign", "header": header, "payload": peer_claims(world), "jwk": member})
            expect(result["ok"], f"jose could not sign: {result.get('error')}")
            expect_equal(jwt.get_unverified_header(result["token"]), header, "jose's header")
            check_tokenring_reads(world, result["token"], peer_claims(world))

        case(f"PyJWT jwt.encode {label} -> tokenring verify")(from_pyjwt)
        case(f"jose SignJWT {label} -> tokenring verify")(from_jose)


add_peer_signing_cases()


# The key file after keys new, rotate and revoke: the peers load exactly the keys that verify.


def add_key_file_cases():
    for step in ("new", "rotate", "revoke"):
        waits = ERASED_SECRET if step == "revoke" else None

        def pyjwt_loads(world, step=step):
            life = world.lifecycle()
            kids, error = pyjwt_kids(life.text[step])
            expect(error is None, f"PyJWKSet cannot load the key file: {error}")
            expect_equal(kids, life.verifying[step], "kids PyJWKSet loads (vs keys tokenring verifies with)")

        def jose_imports(world, step=step):
            life = world.lifecycle()
            (result,) = jose({"op": "import", "keyset": life.text[step]})
            expect(result["ok"], f"jose: {result.get('error')}")
            expect_equal(set(result["loaded"]), life.verifying[step], "kids jose importJWK loads")

        case(f"keys {step}: PyJWKSet loads exactly the keys that verify", waits)(pyjwt_loads)
        case(f"keys {step}: jose importJWK loads exactly the keys that verify", waits)(jose_imports)

    @case("keys new: the first key's token verifies in PyJWT and jose (key set by kid)")
    def first_token(world):
        life = world.lifecycle()
        expect_accepted(pyjwt_verify(life.first_token, life.text["new"]), "PyJWT")
        expect_accepted(jose_verify(life.first_token, life.text["new"]), "jose")

    @case("keys rotate: both keys' tokens verify in PyJWT and jose (key set by kid)")
    def both_tokens(world):
        life = world.lifecycle()
        for token in (life.first_token, life.second_token):
            expect_accepted(pyjwt_verify(token, life.text["rotate"]), "PyJWT")
            expect_accepted(jose_verify(token, life.text["rotate"]), "jose")

    @case("keys revoke: tokenring refuses the revoked key's token as revoked-key")
    def tokenring_refuses(world):
        life = world.lifecycle()
        verdict = world.tokenring.verify(life.path, life.first_token, "--now", world.now)
        expect_refused(verdict, "tokenring verify")
        expect("rejected: revoked-key" in verdict.diagnostic, f"tokenring's reason: {verdict.diagnostic.strip()}")

    @case("keys revoke: PyJWKSet still loads the file; the remaining key's token verifies in both peers")
    def remaining(world):
        life = world.lifecycle()
        _, error = pyjwt_kids(life.text["revoke"])
        expect(error is None, f"PyJWKSet cannot load the key file: {error}")
        expect_accepted(pyjwt_verify(life.second_token, life.text["revoke"]), "PyJWT")
        expect_accepted(jose_verify(life.second_token, life.text["revoke"]), "jose")

    @case("keys revoke: PyJWT refuses the revoked key's token", ERASED_SECRET)
    def pyjwt_refuses(world):
        life = world.lifecycle()
        expect_refused(pyjwt_verify(life.first_token, life.text["revoke"]), "PyJWT (PyJWKSet by kid)")

    @case("keys revoke: jose refuses the revoked key's token", ERASED_SECRET)
    def jose_refuses(world):
        life = world.lifecycle()
        expect_refused(jose_verify(life.first_token, life.text["revoke"]), "jose (key set by kid)")

    @case("keys revoke: the revoked key's secret is nowhere in the file", ERASED_SECRET)
    def erased(world):
        life = world.lifecycle()
        expect(life.first_secret not in life.text["revoke"], "the revoked key's `k` is still in the key file")

    @case("jose createLocalJWKSet takes no oct keys (a kid lookup over importJWK stands in)")
    def local_set(world):
        life = world.lifecycle()
        (result,) = jose({"op": "localset", "keyset": life.text["new"], "token": life.first_token})
        verdict = expect_refused(jose_verdict(result), "createLocalJWKSet")
        expect_equal(verdict.diagnostic, "ERR_JOSE_NOT_SUPPORTED", "createLocalJWKSet's error")


add_key_file_cases()


@case("docs/interop.md names the installed peer versions")
def versions(world):
    text = DOC.read_text()
    jose_version = json.loads((peers.HERE / "node_modules" / "jose" / "package.json").read_text())["version"]
    for name in (f"PyJWT {jwt.__version__}", f"jose {jose_version}"):
        expect(name in text, f"docs/interop.md does not say `{name}`")


def add_table_cases():
    @case("strictness table: one row per probe, one probe per row")
    def covered(world):
        rows = strictness.read_table(DOC)
        names = [row.name for row in rows]
        expect(len(names) == len(set(names)), "a case appears twice in the table")
        missing = sorted(set(strictness.PROBES) - set(names))
        unknown = sorted(set(names) - set(strictness.PROBES))
        expect(not missing and not unknown, f"probes without a row: {missing}; rows without a probe: {unknown}")

    try:
        rows = strictness.read_table(DOC)
    except (OSError, ValueError, IndexError) as error:
        message = f"docs/interop.md: no readable strictness table ({error})"

        @case("strictness table: readable")
        def unreadable(world):
            raise Failed(message)

        return
    for row in rows:

        def run(world, row=row):
            expect(row.name in strictness.PROBES, "no probe of that name in interop/strictness.py")
            seen = strictness.verdicts(world, row.name)
            wrong = [
                f"{side}: table says {cell.text!r}, seen {seen[side].summary()!r}"
                for side, cell in row.cells.items()
                if not cell.matches(seen[side])
            ]
            expect(not wrong, "; ".join(wrong))

        case(f"strictness table: {row.name}")(run)


add_table_cases()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenring", required=True, help="the tokenring binary")
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--observed", action="store_true", help="print each side's verdict on every probe, run nothing")
    args = parser.parse_args()
    binary = Path(args.tokenring).resolve()
    if not binary.is_file():
        print(f"no tokenring binary at {binary}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="tokenring-interop-"))
    world = World(Tokenring(binary, workdir), workdir)
    if args.observed:
        try:
            for name in strictness.PROBES:
                seen = strictness.verdicts(world, name)
                print(f"{name}\n" + "".join(f"    {side:9} {seen[side].summary()}\n" for side in strictness.SIDES))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    passed, failed, waiting = 0, [], []
    try:
        for one in CASES:
            if args.only not in one.name:
                continue
            try:
                one.run(world)
            except (Failed, Broken) as error:
                failed.append(one.name)
                if one.waits_on:
                    waiting.append(one.name)
                note = f"\n       waits on {one.waits_on}" if one.waits_on else ""
                print(f"FAIL   {one.name}\n       {error}{note}", flush=True)
            except Exception:
                failed.append(one.name)
                print(f"FAIL   {one.name} (the test itself broke)\n{traceback.format_exc()}", flush=True)
            else:
                passed += 1
                print(f"ok     {one.name}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if waiting:
        print(f"\n{len(waiting)} of the failures wait on {ERASED_SECRET}.")
    print(f"\n{passed} passed, {len(failed)} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
