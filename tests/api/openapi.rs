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
    let mut operation_ids = std::collections::BTreeSet::new();
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
            // Operation ids are the handlers' names: two rooms' `get_order` would make one
            // id for two operations, and links and generated clients would pick either.
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(
                operation_ids.insert(id.clone()),
                "operation id {id} is used twice ({method} {path})"
            );
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

/// No two types share a schema name: utoipa-actix-web would keep one of them and point the
/// other's operations at the wrong schema.
#[test]
fn schema_names_are_unique() {
    let clashes = khongdee::api_doc_with_defects().1.schema_name_clashes;
    assert!(
        clashes.is_empty(),
        "rename one type of each (`#[schema(as = …)]`):\n{}",
        clashes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every `format` named on a field has its rule (pattern, length) in `openapi::FORMATS`, and
/// every link starts from an operation that exists.
#[test]
fn formats_and_links_are_known() {
    let defects = khongdee::api_doc_with_defects().1;
    assert!(
        defects.unknown_formats.is_empty() && defects.links_without_source.is_empty(),
        "{:?}",
        defects.describe()
    );
}

fn schema<'a>(spec: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let schema = &spec["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    schema
}

fn parameter<'a>(
    spec: &'a serde_json::Value,
    method: &str,
    path: &str,
    name: &str,
) -> &'a serde_json::Value {
    spec["paths"][path][method]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

/// The limits the server enforces are stated in the document, so that a client (or a fuzzer)
/// that keeps to the document is not refused. A sample, so that they cannot silently go.
#[test]
fn the_spec_states_the_limits_the_server_enforces() {
    let spec = serde_json::to_value(khongdee::api_doc()).unwrap();

    // The calendar entry's body is the calendar entry, with months 1–12.
    let create_entry = &spec["paths"]["/v1/districts/{code}/calendar-entries"]["post"];
    assert_eq!(
        create_entry["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewCalendarEntry"
    );
    let entry = schema(&spec, "NewCalendarEntry");
    for month in [
        "start_month",
        "end_month",
        "peak_start_month",
        "peak_end_month",
    ] {
        assert_eq!(entry["properties"][month]["minimum"], 1, "{month}");
        assert_eq!(entry["properties"][month]["maximum"], 12, "{month}");
    }
    let years = &entry["properties"]["year"]["anyOf"];
    assert_eq!(years[0]["minimum"], 2000);
    assert_eq!(years[1]["maximum"], 2743);
    assert_eq!(
        schema(&spec, "CalendarEntryChanges")["properties"]["peak_end_month"]["minimum"],
        0
    );

    // Searches need something to search for.
    for path in ["/v1/laos", "/v1/producers", "/v1/products"] {
        let q = parameter(&spec, "get", path, "q");
        assert_eq!(q["schema"]["minLength"], 1, "{path}");
        assert_eq!(q["schema"]["maxLength"], 100, "{path}");
    }

    // Formats: slug, username, hashtag, origin, phone, non-blank text.
    let crop = schema(&spec, "NewCrop");
    assert_eq!(crop["properties"]["slug"]["pattern"], "^[a-z][a-z0-9_]*$");
    assert_eq!(crop["properties"]["slug"]["minLength"], 2);
    assert!(crop["properties"]["name_th"]["pattern"].is_string());
    let user = schema(&spec, "NewUser");
    assert_eq!(
        user["properties"]["username"]["pattern"],
        "^[A-Za-z0-9._@-]+$"
    );
    assert_eq!(user["properties"]["username"]["maxLength"], 64);
    assert_eq!(user["properties"]["password"]["minLength"], 10);
    assert!(user["properties"]["phone"]["pattern"].is_string());
    let hashtags = &schema(&spec, "NewProduct")["properties"]["hashtags"];
    assert_eq!(hashtags["maxItems"], 20);
    assert!(
        hashtags["items"]["pattern"]
            .as_str()
            .is_some_and(|p| p.starts_with("^#?"))
    );
    let origins = &schema(&spec, "LaoChanges")["properties"]["allowed_origins"];
    assert!(
        origins["items"]["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("https?://"))
    );
    assert_eq!(
        schema(&spec, "NewLao")["properties"]["dla_code"]["pattern"],
        "^[0-9]{7}$"
    );
    assert_eq!(
        schema(&spec, "NewPartnerClient")["properties"]["scopes"]["items"]["enum"][0],
        "holds:write"
    );

    // Shared parameters: the Idempotency-Key format and opaque cursors, wherever declared.
    let key = parameter(&spec, "post", "/v1/orders", "Idempotency-Key");
    assert_eq!(key["schema"]["minLength"], 1);
    assert_eq!(key["schema"]["maxLength"], 255);
    assert_eq!(key["schema"]["pattern"], "^[\\x21-\\x7E]+$");
    let cursor = parameter(&spec, "get", "/v1/orders", "cursor");
    assert_eq!(cursor["schema"]["pattern"], "^[A-Za-z0-9_-]*$");
}

/// A placed order links to the order's own endpoints (with its code and secret), so that a
/// client generated from the document, or a stateful fuzzer, reaches payment and status moves;
/// every link names an operation that exists and parameters it has.
#[test]
fn links_lead_from_a_placed_order_to_its_endpoints() {
    let spec = serde_json::to_value(khongdee::api_doc()).unwrap();
    let mut operations = std::collections::HashMap::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                operations.insert(id.to_string(), op.clone());
            }
        }
    }
    let mut linked = Vec::new();
    for op in operations.values() {
        for response in op["responses"].as_object().unwrap().values() {
            let Some(links) = response["links"].as_object() else {
                continue;
            };
            for (name, link) in links {
                let target_id = link["operationId"].as_str().unwrap();
                let target = operations
                    .get(target_id)
                    .unwrap_or_else(|| panic!("link {name} names no operation {target_id}"));
                for (parameter, expression) in link["parameters"].as_object().into_iter().flatten()
                {
                    let (place, parameter_name) = parameter.split_once('.').unwrap();
                    assert!(
                        target["parameters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|p| { p["name"] == parameter_name && p["in"] == place }),
                        "link {name}: {target_id} has no {place} parameter {parameter_name}"
                    );
                    assert!(expression.as_str().unwrap().starts_with("$response.body#/"));
                }
                linked.push((
                    op["operationId"].as_str().unwrap().to_string(),
                    target_id.to_string(),
                ));
            }
        }
    }
    for target in [
        "get_order",
        "payment_info",
        "confirm_payment",
        "move_order",
        "cancel_order",
        "order_history",
    ] {
        assert!(
            linked.contains(&("place_order".to_string(), target.to_string())),
            "POST /v1/orders does not link to {target}"
        );
    }
    assert!(linked.contains(&("create_hold".to_string(), "get_hold".to_string())));
    assert!(linked.contains(&("join_waitlist".to_string(), "leave_waitlist".to_string())));
}

/// Successful answers of the API and its 429 declare the rate-limit fields they carry.
#[test]
fn the_rate_limit_fields_are_declared() {
    let api = khongdee::api_doc();
    let doc = serde_json::to_value(&api).unwrap();
    for name in [
        "RateLimit-Policy",
        "RateLimit",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    ] {
        assert!(doc["components"]["headers"][name].is_object(), "{name}");
        let reference = format!("#/components/headers/{name}");
        assert_eq!(
            doc["paths"]["/v1/windows"]["get"]["responses"]["200"]["headers"][name]["$ref"],
            reference
        );
        assert_eq!(
            doc["components"]["responses"]["TooManyRequests"]["headers"][name]["$ref"],
            reference
        );
    }
    assert!(
        doc["paths"]["/healthz"]["get"]["responses"]["200"]["headers"]["RateLimit"].is_null(),
        "probes are not limited"
    );
}
