//! The committed OpenAPI document must match what the code produces.

const REGENERATE: &str = "cargo run -- openapi --output openapi/openapi.json";

#[test]
fn committed_openapi_matches_the_code() {
    let generated = khongdee::openapi::to_pretty_json(&khongdee::api_doc());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).expect("write openapi/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()) + 1);
        panic!(
            "openapi/openapi.json differs from the spec the code produces (first difference at line \
             {first_difference}). Regenerate it with `{REGENERATE}` (or UPDATE_OPENAPI=1 cargo test), \
             review the diff, and commit it."
        );
    }
}

#[test]
fn every_operation_is_documented() {
    let api = khongdee::api_doc();
    let value = serde_json::to_value(&api).unwrap();
    let paths = value["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["summary"].is_string(),
                "{method} {path} has no summary (a doc comment on the handler)"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty());
            for (status, response) in responses {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty())
                        || response["$ref"].is_string(),
                    "{method} {path} {status} has no description"
                );
            }
            // Problems every route can answer are declared where they apply.
            let mut expected = Vec::new();
            if path.starts_with("/v1/") {
                expected.extend(["429", "503"]);
            }
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
}

/// Every `$ref` in the document points at a component that exists (a type used only in query
/// parameters is not collected by utoipa unless inlined).
#[test]
fn every_reference_resolves() {
    fn walk(value: &serde_json::Value, root: &serde_json::Value, at: &str) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(|r| r.as_str()) {
                    let pointer = reference.trim_start_matches('#');
                    assert!(
                        root.pointer(pointer).is_some(),
                        "{at}: {reference} does not resolve"
                    );
                }
                for (key, child) in map {
                    walk(child, root, &format!("{at}/{key}"));
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, root, &format!("{at}/{i}"));
                }
            }
            _ => {}
        }
    }
    let value = serde_json::to_value(khongdee::api_doc()).unwrap();
    walk(&value, &value, "");
}
