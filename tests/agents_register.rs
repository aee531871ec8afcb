//! Agents' phones registering with the real server over UDP: an agent added through
//! `hotline agents add`, the agent bot's phone (sip-testbench) answering the digest
//! challenge with rsipstack's own digest code. Checks the two challenges, bindings in
//! the 200 OK with their expiry, several contacts, unregistering, 423, wrong passwords,
//! unknown agents, the failure limit and its end, and that no secret reaches the log.

mod support;

use sip_testbench::agent::{AgentPhone, Challenge, ContactChoice, RegisterAttempt, bindings};
use std::net::{IpAddr, Ipv4Addr};
use support::TestServer;

const PASSWORD: &str = "agent-Passw0rd";

/// A server whose data folder holds agent `alice`.
fn server(extra: &str) -> (tempfile::TempDir, TestServer) {
    let data = tempfile::tempdir().expect("temp dir");
    support::add_agent(data.path(), "alice", PASSWORD, &["cards=4"]);
    let config = format!("[data]\ndir = \"{}\"\n{extra}", data.path().display());
    let server = TestServer::start(&config);
    (data, server)
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn assert_no_secret_in(log: &str) {
    assert!(!log.contains(PASSWORD), "the password reached the log");
    assert!(
        !log.contains("response="),
        "a digest response reached the log"
    );
    assert!(
        !log.contains("Digest username"),
        "an Authorization header reached the log"
    );
}

#[test]
fn a_phone_registers_with_either_digest_algorithm_lists_its_bindings_and_unregisters() {
    let (_data, server) = server("");
    let sip = server.sip_udp;
    runtime().block_on(async {
        let phone = AgentPhone::start(ip(1), "alice").await.unwrap();

        let (challenge, ok) = phone
            .register(sip, PASSWORD, "MD5", ContactChoice::Own, Some(600))
            .await
            .unwrap();
        assert_eq!(challenge.status_code.code(), 401);
        let offered = Challenge::all_in(&challenge);
        let algorithms: Vec<&str> = offered.iter().map(|c| c.algorithm.as_str()).collect();
        assert_eq!(
            algorithms,
            ["SHA-256", "MD5"],
            "both offered, SHA-256 first"
        );
        for c in &offered {
            assert_eq!(c.realm, "hotline");
            assert_eq!(c.qop.as_deref(), Some("auth"));
            assert!(c.opaque.is_some() && !c.stale);
        }
        assert_eq!(ok.status_code.code(), 200, "{ok}");
        assert_eq!(bindings(&ok), vec![(phone.contact_uri(), 600)]);

        // A second phone of the same agent, with SHA-256 and the default expiry.
        let (_, ok) = phone
            .register(sip, PASSWORD, "SHA-256", ContactChoice::Line(2), None)
            .await
            .unwrap();
        assert_eq!(ok.status_code.code(), 200, "{ok}");
        let listed = bindings(&ok);
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert!(
            listed
                .iter()
                .any(|(uri, secs)| uri.ends_with(";line=2") && *secs == 3600)
        );
        assert!(
            listed
                .iter()
                .any(|(uri, secs)| *uri == phone.contact_uri() && *secs <= 600)
        );

        // A too-short expiry is refused with the minimum.
        let (_, brief) = phone
            .register(sip, PASSWORD, "MD5", ContactChoice::Line(3), Some(5))
            .await
            .unwrap();
        assert_eq!(brief.status_code.code(), 423);
        assert!(brief.to_string().contains("Min-Expires: 60"), "{brief}");

        // One contact removed with Expires: 0, then everything with Contact: *.
        let (_, ok) = phone
            .register(sip, PASSWORD, "MD5", ContactChoice::Line(2), Some(0))
            .await
            .unwrap();
        assert_eq!(bindings(&ok).len(), 1, "{ok}");
        let (_, ok) = phone
            .register(sip, PASSWORD, "SHA-256", ContactChoice::Wildcard, Some(0))
            .await
            .unwrap();
        assert_eq!(ok.status_code.code(), 200, "{ok}");
        assert!(bindings(&ok).is_empty(), "{ok}");
    });
    assert!(
        server.wait_for_log(
            "agent phone unregistered",
            std::time::Duration::from_secs(2)
        ),
        "{}",
        server.log()
    );
    let log = server.log();
    assert!(log.contains("agent phone registered"), "{log}");
    assert_no_secret_in(&log);
}

#[test]
fn wrong_passwords_and_unknown_agents_are_refused_and_guessing_is_cut_off_for_a_while() {
    let (_data, server) =
        server("[registrar]\nmax_failures_per_source = 3\nfailure_window_secs = 2\n");
    let sip = server.sip_udp;
    runtime().block_on(async {
        let guesser = AgentPhone::start(ip(2), "alice").await.unwrap();
        let (_, wrong) = guesser
            .register(sip, "not-the-password", "MD5", ContactChoice::Own, None)
            .await
            .unwrap();
        assert_eq!(
            wrong.status_code.code(),
            401,
            "a wrong password is challenged again"
        );
        assert!(!Challenge::all_in(&wrong).is_empty());

        let stranger = AgentPhone::start(ip(3), "mallory").await.unwrap();
        let (_, unknown) = stranger
            .register(sip, PASSWORD, "SHA-256", ContactChoice::Own, None)
            .await
            .unwrap();
        assert_eq!(
            unknown.status_code.code(),
            403,
            "an unknown agent is refused"
        );

        // Two more failures from the guesser's address reach the limit of three...
        guesser
            .register(sip, "guess-2", "MD5", ContactChoice::Own, None)
            .await
            .unwrap();
        let (_, third) = guesser
            .register(sip, "guess-3", "MD5", ContactChoice::Own, None)
            .await
            .unwrap();
        assert_eq!(third.status_code.code(), 403, "{third}");
        // ...after which even a correct answer from that address is refused unheard,
        let blocked = guesser
            .send(
                sip,
                &RegisterAttempt {
                    contact: ContactChoice::Own,
                    expires: None,
                    authorization: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            blocked.status_code.code(),
            403,
            "no challenge while blocked"
        );
        // while another address registers the same agent normally,
        let desk = AgentPhone::start(ip(4), "alice").await.unwrap();
        let (_, ok) = desk
            .register(sip, PASSWORD, "SHA-256", ContactChoice::Own, None)
            .await
            .unwrap();
        assert_eq!(ok.status_code.code(), 200, "{ok}");
        // and once the window has passed the blocked address may try again.
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let (_, ok) = guesser
            .register(sip, PASSWORD, "MD5", ContactChoice::Own, None)
            .await
            .unwrap();
        assert_eq!(ok.status_code.code(), 200, "{ok}");
        assert_eq!(bindings(&ok).len(), 2, "both phones of alice are bound");
    });
    let log = server.log();
    assert!(log.contains("failure limit reached"), "{log}");
    assert!(log.contains("unknown or disabled agent"), "{log}");
    assert_no_secret_in(&log);
}

#[test]
fn a_replayed_authorization_is_not_accepted_twice() {
    let (_data, server) = server("");
    let sip = server.sip_udp;
    runtime().block_on(async {
        let phone = AgentPhone::start(ip(5), "alice").await.unwrap();
        let mut attempt = RegisterAttempt {
            contact: ContactChoice::Own,
            expires: Some(120),
            authorization: None,
        };
        let first = phone.send(sip, &attempt).await.unwrap();
        let challenge = Challenge::all_in(&first).remove(0);
        attempt.authorization = Some(phone.authorization(sip, &challenge, PASSWORD, 1));
        let ok = phone.send(sip, &attempt).await.unwrap();
        assert_eq!(ok.status_code.code(), 200, "{ok}");
        let replay = phone.send(sip, &attempt).await.unwrap();
        assert_eq!(
            replay.status_code.code(),
            401,
            "same nonce count again: {replay}"
        );
        attempt.authorization = Some(phone.authorization(sip, &challenge, PASSWORD, 2));
        let next = phone.send(sip, &attempt).await.unwrap();
        assert_eq!(
            next.status_code.code(),
            200,
            "a higher count is fine: {next}"
        );
    });
}
