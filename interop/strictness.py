"""Where tokenring and the peers judge one input differently.

docs/interop.md holds the table: one row per probe, each side's verdict. The rows are read from
there (read_table) and each is checked against what the three sides do with the probe's key
file and token (verdicts), so the table and the behaviour cannot drift apart unnoticed.

A probe gives a key file's text and a token. Each side verifies the token with that key file and
its defaults: `tokenring verify --keys FILE`; PyJWT `jwt.decode(token, key,
algorithms=["HS256"])` with the key from `PyJWKSet.from_json`; jose `jwtVerify(token, key)`
with the key from `importJWK`. The key is the set's first unless the probe says to pick it by
the token's kid.
"""

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from peers import jose, jose_verdict, pyjwt_verify, write_key_file

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SIDES = ("tokenring", "PyJWT", "jose")


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def spare_bits_set(encoded):
    """`encoded` with the unused low bits of its last character set: the same bytes to a lenient
    decoder, a non-canonical encoding to a strict one. Its length must not be a multiple of 4."""
    if len(encoded) % 4 not in (2, 3):
        raise ValueError("the last character of this encoding has no spare bits")
    return encoded[:-1] + ALPHABET[ALPHABET.index(encoded[-1]) | 1]


def token(header, payload, secret, digest=hashlib.sha256, header_b64=None, payload_b64=None, signature=None):
    """A compact JWS over exactly these bytes (the test's own signer)."""
    signing_input = f"{header_b64 or b64(header)}.{payload_b64 or b64(payload)}"
    mac = b64(hmac.new(secret, signing_input.encode(), digest).digest())
    return f"{signing_input}.{signature(mac) if signature else mac}"


@dataclass
class Probe:
    key_file: str
    token: str
    select: str = "first"


class Fixed:
    """The world's one-key file from `keys new`, for the probes about tokens."""

    def __init__(self, world):
        path = world.keyed()
        (self.member,) = json.loads(path.read_text())["keys"]
        self.text = path.read_text()
        self.secret = base64.urlsafe_b64decode(self.member["k"] + "=")
        self.kid = self.member["kid"]
        self.now = world.now

    def header(self, **extra):
        return json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.kid, **extra}).encode()

    def claims(self, **extra):
        return json.dumps({"sub": "probe", "exp": self.now + 3600, **extra}).encode()

    def probe(self, header=None, payload=None, **options):
        return Probe(self.text, token(header or self.header(), payload or self.claims(), self.secret, **options))


PROBES = {}


def probe(name):
    def register(make):
        PROBES[name] = make
        return make

    return register


# Tokens, all verified with the world's one-key file from `keys new`.


@probe("header-duplicate-member")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(header=fixed.header()[:-1] + b',"typ":"JWT"}')


@probe("claims-duplicate-member")
def _(world):
    return Fixed(world).probe(payload=b'{"sub":"first","sub":"second","exp":%d}' % (world.now + 3600))


@probe("signature-noncanonical")
def _(world):
    return Fixed(world).probe(signature=spare_bits_set)


@probe("payload-noncanonical")
def _(world):
    fixed = Fixed(world)
    pad = ""
    while len(fixed.claims(pad=pad)) % 3 == 0:
        pad += "x"
    return fixed.probe(payload_b64=spare_bits_set(b64(fixed.claims(pad=pad))))


@probe("signature-padded")
def _(world):
    return Fixed(world).probe(signature=lambda mac: mac + "=")


@probe("alg-hs512")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(header=fixed.header(alg="HS512"), digest=hashlib.sha512)


@probe("crit-unknown")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(header=fixed.header(crit=["urn:example:x"], **{"urn:example:x": 1}))


@probe("crit-b64")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(header=fixed.header(crit=["b64"], b64=True))


@probe("typ-number")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(header=fixed.header(typ=7))


@probe("kid-number")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(header=fixed.header(kid=7))


@probe("exp-missing")
def _(world):
    return Fixed(world).probe(payload=b'{"sub":"probe"}')


@probe("exp-string")
def _(world):
    return Fixed(world).probe(payload=b'{"sub":"probe","exp":"%d"}' % (world.now + 3600))


@probe("expired-within-leeway")
def _(world):
    return Fixed(world).probe(payload=b'{"sub":"probe","exp":%d}' % (world.now - 10))


@probe("iat-future")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(payload=fixed.claims(iat=world.now + 600))


@probe("iss-number")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(payload=fixed.claims(iss=7))


@probe("sub-number")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(payload=fixed.claims(sub=7))


@probe("aud-not-asked")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(payload=fixed.claims(aud="api"))


@probe("lone-surrogate")
def _(world):
    return Fixed(world).probe(payload=b'{"sub":"\\ud800","exp":%d}' % (world.now + 3600))


@probe("claims-17-deep")
def _(world):
    deep = b"[" * 17 + b"1" + b"]" * 17
    return Fixed(world).probe(payload=b'{"sub":"probe","exp":%d,"deep":%s}' % (world.now + 3600, deep))


@probe("token-over-8-kib")
def _(world):
    fixed = Fixed(world)
    return fixed.probe(payload=fixed.claims(pad="x" * 8192))


# Key files, each with one hand-written member, and a token signed with the key it means.

SECRET = bytes(range(32))


def key_file_probe(world, member, secret=SECRET):
    text = '{"keys":[' + member + "]}"
    return Probe(text, token(b'{"alg":"HS256","typ":"JWT","kid":"probe"}', Fixed(world).claims(), secret))


@probe("key-128-bits")
def _(world):
    return key_file_probe(world, '{"kty":"oct","kid":"probe","k":"%s"}' % b64(SECRET[:16]), SECRET[:16])


@probe("key-k-padded")
def _(world):
    return key_file_probe(world, '{"kty":"oct","kid":"probe","k":"%s="}' % b64(SECRET))


@probe("key-k-noncanonical")
def _(world):
    return key_file_probe(world, '{"kty":"oct","kid":"probe","k":"%s"}' % spare_bits_set(b64(SECRET)))


@probe("key-duplicate-member")
def _(world):
    return key_file_probe(world, '{"kty":"oct","kid":"probe","k":"%s","k":"%s"}' % (b64(bytes(32)), b64(SECRET)))


@probe("key-alg-hs512")
def _(world):
    return key_file_probe(world, '{"kty":"oct","kid":"probe","alg":"HS512","k":"%s"}' % b64(SECRET))


@probe("key-retired")
def _(world):
    """A key past its retire_at and a token of it that has not expired, both made by the CLI:
    the token lives longer than the rotation's overlap."""
    path = world.path("retired.json")
    day = 24 * 60 * 60
    world.tokenring.must("keys", "new", path, "--now", world.now - 3 * day)
    signed = world.tokenring.sign(path, '{"sub":"probe"}', world.now - 3 * day, ttl="7d")
    world.tokenring.must("keys", "rotate", path, "--now", world.now - 2 * day, "--propagation", "0s", "--overlap", "1h")
    return Probe(path.read_text(), signed, select="kid")


def made(world, name):
    """The probe named `name`, made once per run."""
    return world.memo(f"probe {name}", lambda: PROBES[name](world))


def jose_verdicts(world):
    """jose's verdict on every probe, from one Node process (a start costs more than a probe)."""

    def run():
        probes = {name: made(world, name) for name in PROBES}
        requests = [
            {"op": "verify", "token": probe.token, "keyset": probe.key_file, "select": probe.select}
            for probe in probes.values()
        ]
        return dict(zip(probes, map(jose_verdict, jose(*requests))))

    return world.memo("jose on every probe", run)


def verdicts(world, name):
    """What each side does with the probe named `name`."""
    probe = made(world, name)
    path = write_key_file(world.path("probe.json"), probe.key_file)
    return {
        "tokenring": world.tokenring.verify(path, probe.token, "--now", world.now),
        "PyJWT": pyjwt_verify(probe.token, probe.key_file, select=probe.select),
        "jose": jose_verdicts(world)[name],
    }


# A verdict cell: `accepts` or `refuses`, then optionally a `code` that the side's diagnostic must
# contain (tokenring's reason or error, PyJWT's exception class or warning, jose's error code).
CELL = re.compile(r"^(accepts|refuses)(?: `([^`]+)`)?$")


@dataclass
class Cell:
    text: str
    accepts: bool
    code: str | None

    def matches(self, verdict):
        return verdict.accepted == self.accepts and (self.code is None or self.code in verdict.diagnostic)


@dataclass
class Row:
    name: str
    cells: dict


def read_table(doc):
    """The rows of the table under '## Where the sides differ' in docs/interop.md."""
    lines = doc.read_text().splitlines()
    start = lines.index("## Where the sides differ")
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    header, rows = table[0], table[2:]
    columns = {side: header.index(side) for side in SIDES}
    parsed = []
    for cells in rows:
        name = cells[0].strip("`")
        row = Row(name, {})
        for side, column in columns.items():
            match = CELL.match(cells[column])
            if not match:
                cell = cells[column]
                raise ValueError(f"docs/interop.md, row {name}: {side} cell {cell!r} is not `accepts` or `refuses`")
            row.cells[side] = Cell(cells[column], match.group(1) == "accepts", match.group(2))
        parsed.append(row)
    return parsed
