//! JSON Schemas of the dialplan and flow-test formats, generated from the same types the
//! loader reads, so editors validate and complete dialplans as engineers type.

use super::flow_test::TestFile;
use super::format::DialplanDoc;

/// The JSON Schema of dialplan files.
pub fn dialplan_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(DialplanDoc).to_value();
    if let Some(map) = schema.as_object_mut() {
        map.insert("title".into(), "Hotline dialplan".into());
        map.insert("$id".into(), "hotline-dialplan.schema.json".into());
    }
    schema
}

/// The JSON Schema of flow-test files.
pub fn flow_test_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(TestFile).to_value();
    if let Some(map) = schema.as_object_mut() {
        map.insert("title".into(), "Hotline dialplan flow tests".into());
    }
    schema
}
