#!/usr/bin/env python3
"""The secret-scanning benchmark's corpus and scoring (run by bench/secrets.sh).

`generate DIR SEED` writes a labelled corpus: source, configuration and documentation files of
ordinary lines, with secrets planted in the shapes of real ones (made from a seeded random
generator, never real), each kind in several syntaxes, and decoys a scanner should leave alone
(hashes, UUIDs, placeholders, test fixtures, public keys, base64 that is not a secret, publishable
keys). It writes DIR/../labels.json: for each planted secret its file, first and last line and
kind.

`score LABELS TOOL REPORT` reads a tool's report (slipway's JSON, detect-secrets' JSON, or
`grep -n` output) and prints `tool precision recall reported true_lines secrets_found
secrets` on one line: a reported line is right when it lies within a planted secret's lines;
precision is right lines over reported lines, recall is secrets found over secrets planted.

`rules-to-ere RULES OUT_CS OUT_CI` turns the rules file's regexes into POSIX extended regexes
for `grep -E` (case-sensitive and `-i` ones), the floor the speed is compared with.
"""

import json
import os
import random
import re
import string
import sys

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
B32 = string.ascii_uppercase + "234567"


def rand(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def password(rng, n=None):
    n = n or rng.randint(14, 24)
    chars = ALNUM + "!#%^*-_=+"
    while True:
        value = rand(rng, chars, n)
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def pem(rng, kind):
    header = {"rsa": "RSA PRIVATE KEY", "ec": "EC PRIVATE KEY", "pkcs8": "PRIVATE KEY", "openssh": "OPENSSH PRIVATE KEY"}[kind]
    body = [rand(rng, B64, 64) for _ in range(rng.randint(6, 20))]
    body.append(rand(rng, B64, rng.randint(8, 60)) + "==")
    return [f"-----BEGIN {header}-----"] + body + [f"-----END {header}-----"]


def pgp(rng):
    body = [rand(rng, B64, 64) for _ in range(rng.randint(8, 16))]
    return ["-----BEGIN PGP PRIVATE KEY BLOCK-----", ""] + body + ["=" + rand(rng, B64, 4), "-----END PGP PRIVATE KEY BLOCK-----"]


def jwt(rng):
    import base64

    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    claims = json.dumps({"sub": rand(rng, HEX, 12), "iat": rng.randint(1600000000, 1800000000), "role": "admin"})
    payload = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
    return f"{header}.{payload}.{rand(rng, URLSAFE, 43)}"


def assign(rng, name, value):
    """`name = value` in one of several syntaxes."""
    style = rng.choice(["env", "py", "yaml", "json", "js", "sh", "toml"])
    if style == "env":
        return f"{name.upper()}={value}"
    if style == "py":
        return f'{name.upper()} = "{value}"'
    if style == "yaml":
        return f"  {name.lower()}: {value}"
    if style == "json":
        return f'  "{name}": "{value}",'
    if style == "js":
        return f"const {name} = '{value}';"
    if style == "sh":
        return f'export {name.upper()}="{value}"'
    return f'{name.lower()} = "{value}"'


def secrets(rng):
    """Each kind of secret: a function returning its lines."""
    return {
        "aws-access-key-id": lambda: [assign(rng, "aws_access_key_id", "AKIA" + rand(rng, B32, 16))],
        "aws-secret-access-key": lambda: [assign(rng, "aws_secret_access_key", rand(rng, B64, 40))],
        "gcp-service-account": lambda: [f'  "private_key_id": "{rand(rng, HEX, 40)}",'],
        "gcp-api-key": lambda: [assign(rng, "maps_key", "AIza" + rand(rng, URLSAFE, 35))],
        "azure-storage": lambda: [
            f'  "ConnectionString": "DefaultEndpointsProtocol=https;AccountName=st{rand(rng, "abcdefgh0123", 8)};AccountKey={rand(rng, B64, 86)}==;EndpointSuffix=core.windows.net",'
        ],
        "azure-service-bus": lambda: [
            f"SERVICEBUS=Endpoint=sb://ns{rand(rng, HEX, 6)}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={rand(rng, B64, 43)}="
        ],
        "github-pat": lambda: [assign(rng, "github_token", "ghp_" + rand(rng, ALNUM, 36))],
        "github-fine-grained": lambda: [assign(rng, "gh_pat", f"github_pat_{rand(rng, ALNUM, 22)}_{rand(rng, ALNUM, 59)}")],
        "gitlab-pat": lambda: [assign(rng, "gitlab_token", "glpat-" + rand(rng, URLSAFE, 20))],
        "gitea-token": lambda: [assign(rng, "gitea_token", rand(rng, HEX, 40))],
        "slack-bot-token": lambda: [
            assign(rng, "slack_bot_token", f"xoxb-{rand(rng, string.digits, 12)}-{rand(rng, string.digits, 13)}-{rand(rng, ALNUM, 24)}")
        ],
        "slack-webhook": lambda: [
            assign(rng, "slack_webhook_url", f"https://hooks.slack.com/services/T{rand(rng, string.ascii_uppercase + string.digits, 10)}/B{rand(rng, string.ascii_uppercase + string.digits, 10)}/{rand(rng, ALNUM, 24)}")
        ],
        "discord-webhook": lambda: [
            assign(rng, "discord_webhook", f"https://discord.com/api/webhooks/{rand(rng, string.digits, 19)}/{rand(rng, URLSAFE, 68)}")
        ],
        "teams-webhook": lambda: [
            assign(rng, "teams_webhook", f"https://contoso.webhook.office.com/webhookb2/{uuid(rng)}@{uuid(rng)}/IncomingWebhook/{rand(rng, HEX, 32)}/{uuid(rng)}")
        ],
        "stripe-secret-key": lambda: [assign(rng, "stripe_secret_key", "sk_live_" + rand(rng, ALNUM, rng.choice([24, 99])))],
        "sendgrid-api-key": lambda: [assign(rng, "sendgrid_api_key", f"SG.{rand(rng, URLSAFE, 22)}.{rand(rng, URLSAFE, 43)}")],
        "twilio-api-key": lambda: [assign(rng, "twilio_api_key_sid", "SK" + rand(rng, HEX, 32))],
        "twilio-auth-token": lambda: [assign(rng, "twilio_auth_token", rand(rng, HEX, 32))],
        "npm-token": lambda: [f"//registry.npmjs.org/:_authToken=npm_{rand(rng, ALNUM, 36)}"],
        "pypi-token": lambda: [f"password = pypi-AgEIcHlwaS5vcmc{rand(rng, URLSAFE, 70)}"],
        "private-key-rsa": lambda: pem(rng, rng.choice(["rsa", "ec", "pkcs8"])),
        "private-key-openssh": lambda: pem(rng, "openssh"),
        "private-key-pgp": lambda: pgp(rng),
        "jwt": lambda: [assign(rng, "session", jwt(rng))],
        "connection-string": lambda: [
            assign(rng, "database_url", f"{rng.choice(['postgres', 'mysql', 'mongodb+srv', 'redis'])}://app:{password(rng)}@db{rng.randint(1, 9)}.internal:5432/app")
        ],
        "generic-password": lambda: [assign(rng, rng.choice(["db_password", "smtp_password", "admin_password", "password"]), password(rng))],
        "generic-api-key": lambda: [assign(rng, rng.choice(["api_key", "service_api_key", "client_secret", "secret_key"]), rand(rng, ALNUM, rng.randint(24, 40)))],
        "slipway-token": lambda: [assign(rng, "slipway_token", f"slw_{rand(rng, HEX, 12)}_{rand(rng, HEX, 64)}")],
        "slipway-registration": lambda: [f"slipway agent --registration-token slwreg_{rand(rng, HEX, 12)}_{rand(rng, HEX, 64)}"],
    }


def uuid(rng):
    h = rand(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def decoys(rng):
    """Lines that look like secrets and are not."""
    import base64

    return [
        lambda: f"sha256: {rand(rng, HEX, 64)}",
        lambda: f"  checksum = \"{rand(rng, HEX, 40)}\"",
        lambda: f"commit: {rand(rng, HEX, 40)}",
        lambda: f'  "integrity": "sha512-{base64.b64encode(bytes(rng.getrandbits(8) for _ in range(64))).decode()}",',
        lambda: f"image: registry.example.com/app@sha256:{rand(rng, HEX, 64)}",
        lambda: f"request_id = \"{uuid(rng)}\"",
        lambda: f"  id: {uuid(rng)}",
        lambda: f'  "correlationId": "{uuid(rng)}",',
        lambda: "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX",
        lambda: "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        lambda: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        lambda: "API_KEY=your-api-key-here",
        lambda: "  api_key: <YOUR_API_KEY>",
        lambda: "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
        lambda: '  password: "${DB_PASSWORD}"',
        lambda: "password = os.environ['DB_PASSWORD']",
        lambda: "secret_key = settings.SECRET_KEY_FROM_VAULT",
        lambda: "STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
        lambda: "token = 'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'",
        lambda: "DATABASE_URL=postgres://user:password@localhost:5432/app",
        lambda: "    assert login('admin', 'test') is False",
        lambda: "    mock_token = 'dummy-token-for-tests'",
        lambda: "  password: changeme",
        lambda: f"STRIPE_PUBLISHABLE_KEY=pk_live_{rand(rng, ALNUM, 24)}",
        lambda: f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{rand(rng, B64, 300)} deploy@ci",
        lambda: f"  logo: data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{rand(rng, B64, 120)}",
        lambda: f'font_hash = "{rand(rng, HEX, 32)}"',
        lambda: f"max_tokens: {rng.randint(100, 9000)}",
        lambda: f"password_min_length = {rng.randint(8, 16)}",
        lambda: f"token_url: https://login.example.com/oauth2/v2.0/token",
        lambda: f"secretName: app-secrets-{rng.choice(['prod', 'staging', 'dev'])}",
        lambda: f'  "version": "{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",',
        lambda: f"# see https://github.com/org/repo/commit/{rand(rng, HEX, 40)}",
        lambda: f"api_key_id = \"{uuid(rng)}\"",
        lambda: f"password_hash = \"$2b$12${rand(rng, B64.replace('+', '.'), 53)}\"",
    ]


FILLER = [
    "import os",
    "from typing import Optional",
    "def handler(event, context):",
    "    return {'statusCode': 200, 'body': json.dumps(result)}",
    "    for item in items:",
    "        total += item.price * item.quantity",
    "# TODO: handle retries with exponential back-off",
    "logger.info('processing %s records', len(records))",
    "const express = require('express');",
    "app.get('/healthz', (req, res) => res.send('ok'));",
    "  replicas: 3",
    "  image: nginx:1.27",
    "  ports:",
    "    - containerPort: 8080",
    'resource "aws_s3_bucket" "logs" {',
    '  bucket = "company-logs-${var.environment}"',
    "}",
    "SELECT id, name FROM users WHERE active = true ORDER BY created_at DESC;",
    "The service reads its configuration from the environment at start-up.",
    "  timeout_seconds: 30",
    '  "name": "web-frontend",',
    "if err != nil { return fmt.Errorf(\"loading config: %w\", err) }",
    "    <dependency><groupId>org.slf4j</groupId></dependency>",
    "",
    "",
]

EXTENSIONS = [".py", ".js", ".yaml", ".env", ".json", ".md", ".tf", ".properties", ".go", ".sh"]


def filler(rng):
    line = rng.choice(FILLER)
    if rng.random() < 0.3:
        line += f"  # {rand(rng, string.ascii_lowercase, rng.randint(4, 12))} {rng.randint(1, 999)}"
    return line


def generate(directory, seed):
    rng = random.Random(seed)
    kinds = secrets(rng)
    decoy_makers = decoys(rng)
    os.makedirs(directory, exist_ok=True)
    labels = []
    plan = [kind for kind in kinds for _ in range(20)]
    rng.shuffle(plan)
    file_count = 300
    per_file = [[] for _ in range(file_count)]
    for index, kind in enumerate(plan):
        per_file[index % file_count].append(("secret", kind))
    for index in range(file_count * 4):
        per_file[rng.randrange(file_count)].append(("decoy", rng.randrange(len(decoy_makers))))
    for number, items in enumerate(per_file):
        rng.shuffle(items)
        name = f"{['src', 'config', 'deploy', 'docs', 'tests'][number % 5]}/file{number:03}{EXTENSIONS[number % len(EXTENSIONS)]}"
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lines = []
        for kind, what in items:
            for _ in range(rng.randint(5, 30)):
                lines.append(filler(rng))
            if kind == "secret":
                new = kinds[what]()
                labels.append({"file": name, "first": len(lines) + 1, "last": len(lines) + len(new), "kind": what})
                lines.extend(new)
            else:
                lines.append(decoy_makers[what]())
        for _ in range(rng.randint(5, 30)):
            lines.append(filler(rng))
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
    with open(os.path.join(os.path.dirname(os.path.abspath(directory)), "labels.json"), "w") as handle:
        json.dump(labels, handle)
    print(f"corpus: {file_count} files, {len(labels)} planted secrets of {len(kinds)} kinds, {file_count * 4} decoys")


def reported_lines(tool, report):
    lines = set()
    if tool == "slipway":
        for finding in json.load(open(report)):
            lines.add((finding["File"].removeprefix("./"), finding["StartLine"]))
    elif tool == "detect-secrets":
        for path, results in json.load(open(report))["results"].items():
            for result in results:
                lines.add((path.removeprefix("./"), result["line_number"]))
    else:
        for line in open(report, errors="replace"):
            match = re.match(r"^(?:\./)?(.+?):(\d+):", line)
            if match:
                lines.add((match.group(1), int(match.group(2))))
    return lines


def score(labels_path, tool, report):
    labels = json.load(open(labels_path))
    lines = reported_lines(tool, report)
    by_file = {}
    for index, label in enumerate(labels):
        by_file.setdefault(label["file"], []).append((label["first"], label["last"], index))
    found = set()
    right = 0
    for path, number in lines:
        hit = [index for first, last, index in by_file.get(path, []) if first <= number <= last]
        if hit:
            right += 1
            found.update(hit)
    precision = right / len(lines) if lines else 0.0
    recall = len(found) / len(labels) if labels else 0.0
    missed = {}
    for index, label in enumerate(labels):
        if index not in found:
            missed[label["kind"]] = missed.get(label["kind"], 0) + 1
    print(f"{tool} {precision:.3f} {recall:.3f} {len(lines)} {right} {len(found)} {len(labels)} {json.dumps(missed, separators=(',', ':'))}")


def to_ere(pattern):
    """A rule's regex as a POSIX ERE for GNU grep (None when it cannot be one line's)."""
    insensitive = pattern.startswith("(?i)") or pattern.startswith("(?im)")
    pattern = re.sub(r"^\(\?i?m?\)", "", pattern)
    out = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if in_class:
            if c == "\\" and i + 1 < len(pattern):
                n = pattern[i + 1]
                out.append({"w": "A-Za-z0-9_", "d": "0-9", "s": " \t", "n": "", "\\": "\\", "-": "", "]": "", "/": "/", ".": ".", "+": "+"}.get(n, n))
                if n == "-":
                    out.append("")
                i += 2
                continue
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
            i += 1
            continue
        if pattern.startswith("(?:", i):
            out.append("(")
            i += 3
            continue
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            out.append({"d": "[0-9]", "s": "[[:space:]]", "S": "[^[:space:]]", "w": "[A-Za-z0-9_]", "b": "\\b"}.get(n, "\\" + n))
            i += 2
            continue
        if c == "?" and out and out[-1] and out[-1][-1] in "}*+?":
            i += 1  # lazy quantifier
            continue
        out.append(c)
        i += 1
    return "".join(out), insensitive


def rules_to_ere(rules_path, out_cs, out_ci):
    import tomllib

    rules = tomllib.load(open(rules_path, "rb"))["rules"]
    with open(out_cs, "w") as cs, open(out_ci, "w") as ci:
        for rule in rules:
            if "regex" not in rule:
                continue
            ere, insensitive = to_ere(rule["regex"])
            # A multi-line rule matches its first line's part for grep.
            ere = ere.replace("[A-Za-z0-9+/=[[:space:]]\\:,.]", "[A-Za-z0-9+/=]")
            (ci if insensitive else cs).write(ere + "\n")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    elif command == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4])
    elif command == "rules-to-ere":
        rules_to_ere(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {command}")
