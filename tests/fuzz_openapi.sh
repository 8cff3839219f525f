#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with Schemathesis: a fresh SQLite
# server with demo data, an admin token, every check and every phase (examples, coverage,
# fuzzing, and the stateful phase, which follows the document's links, e.g. from a placed order
# to its payment and status moves). Fails on any 5xx, an undocumented status, header or content
# type, a response that does not match its schema, a wrong answer to an undeclared method, a
# schema-invalid request accepted, or a schema-valid request rejected (400, 422) — except the
# rejections README ("Fuzzing the API") lists with their reason, which `filter_failure` below
# recognises by their problem codes.
# Needs: Schemathesis 4 (pip install schemathesis), curl, python3, a built binary.
#   cargo build --release && tests/fuzz_openapi.sh [extra schemathesis options, e.g. -n 20]
# FUZZ_EXAMPLES (default 50) examples per operation; PORT (default 18081); BIN the binary;
# FUZZ_REPORT a directory to keep the NDJSON report of the run in; FUZZ_USER the demo account
# whose token is sent (default demo-admin; e.g. demo-maesot-staff for what LAO staff own).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/khongdee}"
PORT="${PORT:-18081}"
work=$(mktemp -d)
# Rate limits out of the way (the fuzzer sends thousands of requests); tokens outlive the run.
# No background work: the webhook dispatcher would otherwise send to the URLs the fuzzer
# registers, and nothing here may leave the machine.
KHONGDEE_BACKGROUND_TASKS=false \
KHONGDEE_DATABASE_URL="sqlite://$work/fuzz.db" KHONGDEE_BIND="127.0.0.1:$PORT" \
  KHONGDEE_DATA_DIR="$work" KHONGDEE_LOG=warn KHONGDEE_ACCESS_TOKEN_TTL=14400 \
  KHONGDEE_RATE_LIMIT_ANONYMOUS=1000000 KHONGDEE_RATE_LIMIT_AUTHENTICATED=1000000 \
  KHONGDEE_RATE_LIMIT_TOKEN=1000000 KHONGDEE_RATE_LIMIT_EMBED=1000000 "$BIN" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done

token=$(curl -fs -d grant_type=password -d username="${FUZZ_USER:-demo-admin}" -d password=khongdee-demo-2569 \
  "http://127.0.0.1:$PORT/v1/auth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# The admin's token must last the run: account changes (which could disable the account or set
# a new password, ending its sessions) go to one other demo account, demo-tak.
config="$work/schemathesis.toml"
cat >"$config" <<'EOF'
[[operations]]
include-operation-id = "update_user"
parameters = { "path.id" = 2 }
EOF

# Values a pattern cannot state whole (check digits), drawn right; and the rejections that no
# schema can prevent, each recognised by its problem code (README lists them with the reason).
cat >"$work/khongdee_fuzz_hooks.py" <<'EOF'
import re
import uuid

import schemathesis
from hypothesis import strategies as st


def with_check_digit(twelve):
    # thai_ids::has_valid_check_digit: weights 13..2, check = (11 - sum mod 11) mod 10.
    total = sum(int(d) * w for d, w in zip(twelve, range(13, 1, -1)))
    return twelve + str((11 - total % 11) % 10)


citizen_ids = st.from_regex(r"\A[1-9][0-9]{11}\Z").map(with_check_digit)
tax_ids = st.from_regex(r"\A[0-9]{12}\Z").filter(lambda d: not d.startswith("0066")).map(with_check_digit)
schemathesis.openapi.format("thai-citizen-id", citizen_ids)
schemathesis.openapi.format(
    "promptpay-id",
    st.one_of(st.from_regex(r"\A0[689][0-9]{8}\Z"), tax_ids, st.from_regex(r"\A[0-9]{15}\Z")),
)

# Rejections of schema-valid requests that the API must make: (problem code, field, field code);
# None matches any.
ACCEPTED = [
    # Opaque cursors: only a cursor the API issued is a cursor.
    ("invalid_parameter", "cursor", "invalid_cursor"),
    # Wrong credentials or an unknown refresh token.
    ("invalid_grant", None, None),
    # The same Idempotency-Key with another request.
    ("idempotency_key_reused", None, None),
    # Ids and codes of things that do not exist (example ids, random codes).
    (None, None, "invalid_code"),
    (None, None, "not_found"),
    ("unknown_variant", None, None),
    # Changing one's password needs the current one.
    ("validation_failed", "current_password", "invalid"),
    # Check digits: citizen ids and 13-digit PromptPay ids (the pattern gives the shape).
    ("validation_failed", "citizen_id", "invalid_citizen_id"),
    ("validation_failed", "promptpay_id", "invalid_promptpay_id"),
    # Rules between fields. Peak months: both or neither, within the season.
    ("validation_failed", "peak_start_month", "required"),
    ("validation_failed", "peak_end_month", "required"),
    ("validation_failed", "peak_start_month", "outside_season"),
    ("validation_failed", "peak_end_month", "outside_season"),
    # An account's area field follows its role (and the creator's own area).
    ("validation_failed", "province_code", "required"),
    ("validation_failed", "district_code", "required"),
    ("validation_failed", "lao_code", "required"),
    ("validation_failed", "producer_id", "required"),
    ("validation_failed", "province_code", "not_allowed"),
    ("validation_failed", "district_code", "not_allowed"),
    ("validation_failed", "lao_code", "not_allowed"),
    ("validation_failed", "producer_id", "not_allowed"),
    # The fields a token request needs follow its grant_type.
    ("invalid_request", None, "required"),
    # Peak months: a 0 (no peak) only for both.
    ("validation_failed", "peak_start_month", "too_small"),
    ("validation_failed", "peak_end_month", "too_small"),
    # Times and dates in order: a window closes after it opens, a pickup ends after it starts.
    ("validation_failed", None, "invalid_range"),
    # An order names lines or a hold: one of them.
    ("validation_failed", "lines", "not_allowed"),
    ("validation_failed", "lines", "required"),
    ("validation_failed", "window_id", "required"),
    # A window offers pickup points, carrier delivery, or both: at least one.
    ("validation_failed", "delivery", "required"),
    ("validation_failed", "pickup_points", "too_few"),
    # A window's variants have distinct names; a hold or order names each variant once.
    ("validation_failed", "variants", "duplicate"),
    ("validation_failed", "variants", "repeated"),
    ("validation_failed", "lines", "duplicate"),
    ("validation_failed", "lines", "repeated"),
    # Rules that depend on stored data: a window that limits units per buyer needs the
    # buyer's phone; a crop's unit cannot change while products use it.
    ("validation_failed", "buyer_phone", "required"),
    # A window's items per order (its stored limits, 1 to 20 by default).
    ("order_limit", None, None),
    ("validation_failed", "sale_unit", "in_use"),
    # The programme's report: `code` names the area of a `level` below the nation, and is
    # absent for the nation.
    (None, "code", "required"),
    (None, "code", "not_allowed"),
    (None, "code", "wrong_length"),
    # Dates the pattern admits that the calendar does not have (2026-02-30).
    ("invalid_parameter", None, "invalid_date"),
    # One period: a day, a month, a quarter, a fiscal year or a range.
    ("invalid_parameter", "period", "one_of"),
    # A range of dates names both ends, at most ten years apart.
    ("invalid_parameter", "to", "range_too_long"),
    # A window's smallest order (its minimum items of its smallest variant) fits its capacity.
    ("validation_failed", "min_items_per_order", "exceeds_capacity"),
    ("invalid_parameter", "from", "required"),
    ("invalid_parameter", "to", "required"),
    # Webhook URLs: the host decides (a private or loopback address, http to a public host, a
    # URL that does not parse past its scheme), and an owner has at most 20 endpoints.
    ("validation_failed", "url", "private_address"),
    ("validation_failed", "url", "https_required"),
    ("validation_failed", "url", "invalid_url"),
    ("validation_failed", "url", "too_many"),
    # Dispatch batches: a window's orders or chosen ones (one of them, each code once); a
    # dispatch date from 7 days ago to 60 days ahead of today; tracking numbers in the format of
    # the batch's carrier (S10 check digit for Thailand Post), each once and not another
    # parcel's; a carrier event's status from its carrier's code or its own `status`; a
    # blackout of at most 60 days.
    ("validation_failed", "order_codes", "one_of"),
    ("validation_failed", "order_codes", "repeated"),
    ("validation_failed", "dispatch_date", "too_small"),
    ("validation_failed", "dispatch_date", "too_large"),
    ("validation_failed", "tracking_numbers", None),
    ("validation_failed", "order_codes", "required"),
    ("validation_failed", "events", "unknown_status"),
    ("validation_failed", "events", "too_large"),
    ("validation_failed", "events", "too_small"),
    ("validation_failed", "last_date", "too_large"),
    # Photos: the content decides (not JPEG, PNG or WebP; cut short; over 40 megapixels), a
    # product holds 20, and `cover` takes only `true` (another photo becomes the cover).
    ("unsupported_media_type", None, None),
    ("unreadable_image", None, None),
    ("image_too_large", None, None),
    ("validation_failed", "file", "too_many"),
    ("validation_failed", "file", "required"),
    ("validation_failed", "cover", "not_allowed"),
    # A multipart part whose headers carry control characters (a part named with raw bytes):
    # the multipart parser cannot read it.
    ("malformed_form", None, None),
    # U+0000 in any text (JSON strings, form and query values, paths): JSON allows it, no
    # database text column can hold it.
    (None, None, "nul_character"),
    # Window and pickup times and dates in the years 2000-9999, Bangkok time: `date-time`
    # admits years 0000-9999 and states no range.
    ("validation_failed", None, "year_out_of_range"),
]


def accepted(problem):
    code = problem.get("code")
    errors = problem.get("errors") or [{}]
    for error in errors:
        if not any(
            (c is None or c == code)
            and (f is None or f == str(error.get("field", "")).split("[")[0])
            and (fc is None or fc == error.get("code"))
            for c, f, fc in ACCEPTED
        ):
            return False
    return True


VALID_KEY = re.compile(r"\A[\x21-\x7E]{1,255}\Z")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # A client sends a new Idempotency-Key with each new request; the generator repeats a few
    # short ones, and most requests would only meet 422 `idempotency_key_reused`. A valid key
    # stays valid (a fresh UUID), an invalid one is left as generated.
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and VALID_KEY.match(key):
        case.headers["Idempotency-Key"] = str(uuid.uuid4())


def body_requires(case, name):
    """Whether the operation's JSON body schema requires the property `name`."""
    raw = case.operation.schema.raw_schema
    operation = raw["paths"][case.operation.path][case.operation.method.lower()]
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = schema.get("schema", {})
    while "$ref" in schema:
        schema = raw["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return name in schema.get("required", [])


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    code = getattr(failure, "code", None)
    # Schemathesis 4.32 sometimes takes an optional property for a required one (seen on
    # PATCH bodies whose properties match a create body's); the body's own schema decides.
    missing = "Missing required property: "
    message = getattr(failure, "message", "") or ""
    if code == "ST201" and missing in message:
        name = message.split(missing, 1)[1].split()[0]
        return body_requires(case, name)
    if code != "ST202":
        return True
    # A link Schemathesis infers by itself (e.g. from a user's `producer_id`) passes a null on
    # as the text "None", which no integer id is; links the document declares never do.
    if any(v is None or v == "None" for v in (case.path_parameters or {}).values()):
        return False
    try:
        problem = response.json()
    except Exception:
        return True
    return not (isinstance(problem, dict) and accepted(problem))
EOF

report=()
if [[ -n "${FUZZ_REPORT:-}" ]]; then
  mkdir -p "$FUZZ_REPORT"
  report=(--report ndjson --report-dir "$FUZZ_REPORT")
fi

status=0
PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=khongdee_fuzz_hooks \
  schemathesis --config-file "$config" run "http://127.0.0.1:$PORT/openapi.json" \
  -H "Authorization: Bearer $token" \
  -c all -w 1 --phases examples,coverage,fuzzing,stateful \
  --suppress-health-check filter_too_much \
  -n "${FUZZ_EXAMPLES:-50}" "${report[@]}" "$@" || status=$?
if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked during the run:" >&2
  grep -A5 "panicked" "$work/server.log" >&2
  status=1
fi
exit "$status"
