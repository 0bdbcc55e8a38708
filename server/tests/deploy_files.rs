//! The deployment files are what Agones and Docker need: the Fleet manifest parses as YAML and
//! has the fields Agones requires (and the container port the server listens on), and the
//! Dockerfile builds the server with the wasm target and ships only the binary.

use yaml_rust2::{Yaml, YamlLoader};

fn at<'a>(doc: &'a Yaml, path: &[&str]) -> &'a Yaml {
    path.iter().fold(doc, |node, key| &node[*key])
}

#[test]
fn the_fleet_manifest_has_what_agones_requires() {
    let text = include_str!("../../deploy/agones-fleet.yaml");
    let docs = YamlLoader::load_from_str(text).expect("the manifest is YAML");
    assert_eq!(docs.len(), 1, "one document");
    let fleet = &docs[0];
    assert_eq!(at(fleet, &["apiVersion"]).as_str(), Some("agones.dev/v1"));
    assert_eq!(at(fleet, &["kind"]).as_str(), Some("Fleet"));
    assert!(at(fleet, &["metadata", "name"]).as_str().is_some_and(|n| !n.is_empty()));
    assert!(at(fleet, &["spec", "replicas"]).as_i64().is_some_and(|n| n >= 1));
    let game_server = at(fleet, &["spec", "template", "spec"]);
    let ports = game_server["ports"].as_vec().expect("spec.template.spec.ports is a list");
    let port = ports.first().expect("a port");
    assert_eq!(port["containerPort"].as_i64(), Some(8080), "the port the container's server listens on");
    assert_eq!(port["protocol"].as_str(), Some("TCP"), "WebSockets are TCP");
    assert!(port["portPolicy"].as_str().is_some());
    assert_eq!(game_server["health"]["disabled"].as_bool(), Some(false), "Agones watches the health pings");
    let containers = at(game_server, &["template", "spec", "containers"]).as_vec().expect("containers");
    let container = containers.first().expect("a container");
    assert!(container["image"].as_str().is_some_and(|i| !i.is_empty()));
    let args: Vec<&str> = container["args"].as_vec().expect("args").iter().filter_map(Yaml::as_str).collect();
    assert_eq!(args, ["--port", "8080"]);
}

#[test]
fn the_dockerfile_builds_in_stages_and_ships_one_binary() {
    let text = include_str!("../../Dockerfile");
    let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "a build stage and a run stage: {stages:?}");
    assert!(text.contains("rustup target add wasm32-unknown-unknown"), "the build script needs the wasm target");
    assert!(text.contains("cargo build --release --locked --bin skirmish"));
    let run_stage = &text[text.rfind("FROM ").expect("a run stage")..];
    let copies: Vec<&str> = run_stage.lines().filter(|l| l.starts_with("COPY")).collect();
    assert_eq!(copies, ["COPY --from=build /skirmish /usr/local/bin/skirmish"], "only the binary");
    assert!(run_stage.contains("EXPOSE 8080") && run_stage.contains("USER "), "a port and no root");
}
