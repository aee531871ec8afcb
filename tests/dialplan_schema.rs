//! The JSON Schema editors use: generated from the loader's types, and the copy in docs/
//! kept identical to `hotline schema`.

use hotline::dialplan::schema::{dialplan_schema, flow_test_schema};
use std::path::Path;

#[test]
fn schema_lists_every_step_kind_and_rejects_unknown_fields() {
    let schema = dialplan_schema();
    let steps = schema["$defs"]["Step"]["oneOf"]
        .as_array()
        .expect("steps are a oneOf");
    let kinds: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["required"][0].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "say", "gather", "branch", "set", "lookup", "transfer", "hangup", "goto", "hours",
            "call", "return"
        ]
    );
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["$defs"]["GatherStep"]["additionalProperties"], false);
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "flows")
    );
}

#[test]
fn committed_schemas_match_the_format() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, schema) in [
        ("docs/dialplan.schema.json", dialplan_schema()),
        ("docs/dialplan-tests.schema.json", flow_test_schema()),
    ] {
        let committed = std::fs::read_to_string(root.join(file)).unwrap();
        let current = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        assert!(
            committed == current,
            "{file} is stale: run `hotline schema{} -o {file}`",
            if file.contains("tests") {
                " --tests"
            } else {
                ""
            }
        );
    }
}
