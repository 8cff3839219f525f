//! Our PromptPay payloads, read by a decoder nobody on khongdee wrote: the npm package
//! `promptparse` (maythiwat/promptparse), pinned in `tests/decoders/package-lock.json`.
//!
//! The test builds payloads for every id kind, with and without an amount and a reference,
//! plus the shared vectors, pipes them through `tests/decoders/promptparse_decode.mjs`, and
//! compares what promptparse reads field by field with what we meant to write. The expected
//! values are spelled out here from the EMVCo / Thai QR layout, not taken from
//! `khongdee::promptpay`.
//!
//! Setup: `npm ci --prefix tests/decoders` (Node 18 or later). Without it the test fails when
//! `CI` is `true` or `1`, and otherwise prints `SKIPPED:` and passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use khongdee::promptpay::{MAX_AMOUNT_SATANG, parse_payload, payload_with_reference};
use khongdee::thai_ids::PromptPayId;
use serde_json::Value;

/// The rows of `shared/data/vectors/promptpay.csv`, for when the file is not there.
const SHARED_VECTORS: &str = "\
target,amount,payload
0801234567,,00020101021129370016A000000677010111011300668012345675802TH530376463046197
+66-89-123-4567,,00020101021129370016A000000677010111011300668912345675802TH5303764630429C1
1111111111111,,00020101021129370016A000000677010111021311111111111115802TH530376463047B5A
0123456789012,,00020101021129370016A000000677010111021301234567890125802TH530376463040CBD
000-000-0000,4.22,00020101021229370016A000000677010111011300660000000005802TH530376454044.226304E469
";

fn decoders_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/decoders")
}

fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

/// Why the decoder cannot run here, if it cannot.
fn decoder_missing() -> Option<String> {
    let installed = decoders_dir().join("node_modules/promptparse/package.json");
    if !installed.is_file() {
        return Some(format!(
            "{} is missing; run `npm ci --prefix tests/decoders`",
            installed.display()
        ));
    }
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("`node --version` failed: {}", out.status)),
        Err(e) => Some(format!("cannot run node: {e}")),
    }
}

/// What promptparse reads from each payload, in order.
fn decode(payloads: &[String]) -> Vec<Value> {
    let mut child = Command::new("node")
        .arg(decoders_dir().join("promptparse_decode.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let mut stdin = child.stdin.take().expect("node's stdin");
    let input = payloads.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("node runs");
    writer
        .join()
        .expect("writer thread")
        .expect("write payloads");
    assert!(
        out.status.success(),
        "decoder failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded: Vec<Value> = String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(decoded.len(), payloads.len(), "one answer per payload");
    for (payload, answer) in payloads.iter().zip(&decoded) {
        assert_eq!(answer["payload"], payload.as_str(), "answers out of order");
        assert!(answer.get("error").is_none(), "decoder threw: {answer}");
    }
    decoded
}

/// A list of `[id, value]` pairs as the decoder printed it.
fn pairs(value: &Value) -> Option<Vec<(String, String)>> {
    let list = value.as_array()?;
    Some(
        list.iter()
            .map(|pair| {
                (
                    pair[0].as_str().expect("tag id").to_string(),
                    pair[1].as_str().expect("tag value").to_string(),
                )
            })
            .collect(),
    )
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(id, value)| (id.to_string(), value.to_string()))
        .collect()
}

/// Tag 29's sub-tag, its value on the wire, promptparse's name for the proxy type, and the
/// target promptparse gives back (mobile numbers in local form).
fn expected_proxy(id: &PromptPayId) -> (&'static str, String, &'static str, String) {
    match id {
        PromptPayId::Mobile(local) => {
            let national = local
                .strip_prefix('0')
                .expect("local mobile numbers start with 0");
            ("01", format!("0066{national}"), "MSISDN", local.clone())
        }
        PromptPayId::NationalId(digits) => ("02", digits.clone(), "NATID", digits.clone()),
        PromptPayId::EWallet(digits) => ("03", digits.clone(), "EWALLETID", digits.clone()),
    }
}

/// Tag 54 as the Thai QR standard writes it: baht with two decimals.
fn expected_amount_text(satang: i64) -> String {
    format!("{}.{:02}", satang / 100, satang % 100)
}

/// Checks one decoded payload against the id, amount and reference it was built from.
fn check(
    answer: &Value,
    target: &PromptPayId,
    amount_satang: Option<i64>,
    reference: Option<&str>,
) {
    let payload = answer["payload"].as_str().expect("payload");
    let context = format!("{payload} ({target:?}, {amount_satang:?}, {reference:?})");
    assert_eq!(answer["crc_ok"], true, "CRC: {context}");
    assert_eq!(answer["reencodes"], true, "lengths: {context}");

    let (sub_tag, proxy, proxy_type, local_target) = expected_proxy(target);
    let merchant = owned(&[("00", "A000000677010111"), (sub_tag, &proxy)]);
    let merchant_value: String = merchant
        .iter()
        .map(|(id, value)| format!("{id}{:02}{value}", value.len()))
        .collect();

    let mut tags = vec![
        ("00", "01".to_string()),
        (
            "01",
            if amount_satang.is_some() { "12" } else { "11" }.to_string(),
        ),
        ("29", merchant_value),
        ("58", "TH".to_string()),
        ("53", "764".to_string()),
    ];
    if let Some(satang) = amount_satang {
        tags.push(("54", expected_amount_text(satang)));
    }
    if let Some(reference) = reference {
        tags.push(("62", format!("05{:02}{reference}", reference.len())));
    }
    tags.push(("63", payload[payload.len() - 4..].to_string()));
    let tags: Vec<(String, String)> = tags
        .into_iter()
        .map(|(id, value)| (id.to_string(), value))
        .collect();

    assert_eq!(pairs(&answer["tags"]), Some(tags), "tags: {context}");
    assert_eq!(
        pairs(&answer["merchant"]),
        Some(merchant),
        "tag 29: {context}"
    );
    assert_eq!(
        pairs(&answer["additional"]),
        reference.map(|r| owned(&[("05", r)])),
        "tag 62: {context}"
    );

    let any_id = &answer["any_id"];
    assert_eq!(any_id["type"], proxy_type, "proxy type: {context}");
    assert_eq!(any_id["target"], local_target.as_str(), "target: {context}");
    match amount_satang {
        Some(satang) => {
            let baht = any_id["amount"].as_f64().expect("an amount");
            assert_eq!((baht * 100.0).round() as i64, satang, "amount: {context}");
        }
        None => assert!(any_id.get("amount").is_none(), "no amount: {context}"),
    }
}

#[test]
fn promptparse_reads_our_payloads_as_we_meant_them() {
    if let Some(why) = decoder_missing() {
        if in_ci() {
            panic!("the independent PromptPay decoder is needed in CI: {why}");
        }
        // Straight to stderr: the test harness captures `eprintln!` of a passing test.
        let _ = writeln!(std::io::stderr(), "SKIPPED: promptpay_decoder: {why}");
        return;
    }

    let mobile = PromptPayId::parse("081-234-5678").unwrap();
    let citizen = PromptPayId::parse("1-1111-11111-11-9").unwrap();
    let tax = PromptPayId::parse("0107536000102").unwrap();
    let wallet = PromptPayId::parse("123456789012345").unwrap();
    let longest_reference = "Lot #12/A+B (x2) ~7KQ3{}|";
    assert_eq!(longest_reference.len(), 25);
    let cases: Vec<(&PromptPayId, Option<i64>, Option<&str>)> = vec![
        (&mobile, None, None),
        (&mobile, Some(1), None),
        (&mobile, Some(45_000), Some("7KQ3-XPMA")),
        (&mobile, None, Some("7KQ3-XPMA")),
        (&mobile, Some(MAX_AMOUNT_SATANG), Some(longest_reference)),
        (&citizen, None, None),
        (&citizen, Some(10), Some("ABCD-2345")),
        (&citizen, Some(123_456), None),
        (&tax, Some(100), Some("A")),
        (&tax, Some(99_999), None),
        (&wallet, None, None),
        (&wallet, Some(422), Some("ZZZZ-9999")),
        (&wallet, Some(MAX_AMOUNT_SATANG), Some(longest_reference)),
    ];
    let mut payloads: Vec<String> = cases
        .iter()
        .map(|(id, amount, reference)| payload_with_reference(id, *amount, *reference).unwrap())
        .collect();

    // The shared vectors, read by the same decoder.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/vectors/promptpay.csv");
    let vectors_text = std::fs::read_to_string(&path).unwrap_or_else(|_| SHARED_VECTORS.into());
    let vectors: Vec<(String, String, String)> = csv::Reader::from_reader(vectors_text.as_bytes())
        .records()
        .map(|row| {
            let row = row.expect("a well-formed vector row");
            (row[0].to_string(), row[1].to_string(), row[2].to_string())
        })
        .collect();
    assert!(!vectors.is_empty());
    payloads.extend(vectors.iter().map(|(_, _, payload)| payload.clone()));

    // A decoder that accepted anything would pass the checks above; these must be refused.
    let ours = payloads[2].clone();
    let wrong_crc = format!("{}0000", &ours[..ours.len() - 4]);
    let wrong_body = ours.replace("7KQ3-XPMA", "7KQ3-XPMB");
    assert_ne!(wrong_body, ours);
    payloads.push(wrong_crc);
    payloads.push(wrong_body);

    let decoded = decode(&payloads);

    for ((id, amount, reference), answer) in cases.iter().zip(&decoded) {
        check(answer, id, *amount, *reference);
        // Our own reader agrees with promptparse on the reference.
        let ours = parse_payload(answer["payload"].as_str().unwrap()).unwrap();
        assert_eq!(ours.reference.as_deref(), *reference);
    }

    for ((target, amount, _), answer) in vectors.iter().zip(&decoded[cases.len()..]) {
        let digits: String = target.chars().filter(char::is_ascii_digit).collect();
        let id = match digits.len() {
            // +66-89-123-4567 is the local 0891234567.
            11 if digits.starts_with("66") => PromptPayId::Mobile(format!("0{}", &digits[2..])),
            10 => PromptPayId::Mobile(digits),
            13 => PromptPayId::NationalId(digits),
            15 => PromptPayId::EWallet(digits),
            _ => panic!("vector target {target} has no PromptPay shape"),
        };
        let satang = (!amount.is_empty()).then(|| {
            let (baht, fraction) = amount.split_once('.').expect("two decimals");
            baht.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
        });
        check(answer, &id, satang, None);
    }

    for answer in &decoded[cases.len() + vectors.len()..] {
        assert_eq!(answer["crc_ok"], false, "accepted a broken CRC: {answer}");
        assert_eq!(answer["reencodes"], false, "{answer}");
        assert_eq!(answer["any_id"], Value::Null, "{answer}");
    }
}
