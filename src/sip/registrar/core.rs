//! The registrar's decisions for one REGISTER, in two steps so the expensive part is only
//! reached by requests worth it: [`Registrar::begin`] answers from memory (rate limits,
//! challenges, nonces) and either decides or asks for the agent's stored secrets;
//! [`Registrar::finish`] checks the digest against them and updates the bindings.
//! Time and randomness are arguments; nothing here touches a socket or the database.

use super::bindings::{
    BindingOutcome, BindingRequest, Bindings, ContactBinding, ContactSet, ExpiryRules,
    RegistrationEvent,
};
use super::config::RegistrarConfig;
use super::limiter::FailureLimiter;
use super::nonces::{NonceState, NonceStore};
use crate::config::Transport;
use crate::sip::digest::{
    self, DigestAlgorithm, DigestAuthorization, DigestParseError, DigestSecrets, QopInput,
    ResponseInput,
};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Nonces remembered at most (each is ~100 bytes).
const MAX_NONCES: usize = 100_000;
/// Sources and logins whose failures are tracked at most.
const MAX_TRACKED: usize = 100_000;

/// A REGISTER as the registrar reads it.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// The user part of the To URI: the agent's login.
    pub login: String,
    pub call_id: String,
    pub cseq: u32,
    pub source: SocketAddr,
    pub transport: Transport,
    pub contacts: ContactSet,
    pub expires: Option<u32>,
    /// Every `Authorization` header value, unparsed.
    pub authorizations: Vec<String>,
}

/// What to answer, or what to fetch first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterDecision {
    /// 401 with one `WWW-Authenticate` per value.
    Challenge {
        challenges: Vec<String>,
        stale: bool,
    },
    /// A final refusal; `why` is for the log line only.
    Refuse { status: u16, why: &'static str },
    /// 423 Interval Too Brief with `Min-Expires`.
    IntervalTooBrief { min: u32 },
    /// 200: the agent's bindings (URI, seconds left) and the changes to announce.
    Registered {
        contacts: Vec<(String, u32)>,
        events: Vec<RegistrationEvent>,
    },
    /// Look the agent's secrets up (off the async threads) and call `finish`.
    LookUp { login: String },
}

/// What the store said about the agent.
#[derive(Debug, Clone)]
pub enum AgentSecrets {
    /// Enabled, with its digest secrets.
    Enabled(DigestSecrets),
    /// Unknown or disabled: both get the same answer.
    Refused,
}

/// The registrar's state: nonces, failure counts and bindings.
pub struct Registrar {
    /// Challenged with, in this order.
    algorithms: Vec<DigestAlgorithm>,
    realm: String,
    opaque: String,
    rules: ExpiryRules,
    nonces: NonceStore,
    by_source: FailureLimiter<IpAddr>,
    by_login: FailureLimiter<String>,
    bindings: Bindings,
}

/// How the request's credentials read.
enum Credentials {
    None,
    Malformed,
    Digest(Box<DigestAuthorization>),
}

impl Registrar {
    /// `opaque` is random per server run (it only has to be echoed back).
    pub fn new(config: &RegistrarConfig, opaque: [u8; 16]) -> Self {
        let window = Duration::from_secs(u64::from(config.failure_window_secs));
        Self {
            algorithms: config.offered_algorithms(),
            realm: config.realm.clone(),
            opaque: opaque.iter().map(|b| format!("{b:02x}")).collect(),
            rules: ExpiryRules {
                min: config.min_expires_secs,
                max: config.max_expires_secs,
                default: config.default_expires_secs,
                max_contacts: config.max_contacts,
            },
            nonces: NonceStore::new(
                Duration::from_secs(u64::from(config.nonce_lifetime_secs)),
                MAX_NONCES,
            ),
            by_source: FailureLimiter::new(config.max_failures_per_source, window, MAX_TRACKED),
            by_login: FailureLimiter::new(config.max_failures_per_user, window, MAX_TRACKED),
            bindings: Bindings::default(),
        }
    }

    /// The first step: everything that needs no stored secret.
    pub fn begin(
        &mut self,
        request: &RegisterRequest,
        now: Instant,
        random: [u8; 16],
    ) -> RegisterDecision {
        if self.by_source.is_blocked(&request.source.ip(), now) {
            return refuse(403, "too many failures from this source");
        }
        let auth = match self.credentials(request) {
            Credentials::None => return self.challenge(now, random, false),
            Credentials::Malformed => {
                self.by_source.fail(&request.source.ip(), now);
                return refuse(400, "malformed Authorization header");
            }
            Credentials::Digest(auth) => auth,
        };
        if auth.username != request.login {
            self.by_source.fail(&request.source.ip(), now);
            return refuse(403, "digest username differs from the To user");
        }
        if self.by_login.is_blocked(&request.login, now) {
            return refuse(403, "too many failures for this agent");
        }
        if auth.opaque.as_deref().is_some_and(|o| o != self.opaque)
            || self.nonces.state(&auth.nonce, now) == NonceState::Unknown
        {
            return self.challenge(now, random, false);
        }
        RegisterDecision::LookUp {
            login: request.login.clone(),
        }
    }

    /// The second step, with what the store holds for the agent.
    pub fn finish(
        &mut self,
        request: &RegisterRequest,
        secrets: &AgentSecrets,
        now: Instant,
        random: [u8; 16],
    ) -> RegisterDecision {
        let Credentials::Digest(auth) = self.credentials(request) else {
            return self.challenge(now, random, false);
        };
        let secrets = match secrets {
            AgentSecrets::Enabled(secrets) => secrets,
            AgentSecrets::Refused => {
                self.fail(request, now);
                return refuse(403, "unknown or disabled agent");
            }
        };
        if secrets.realm != self.realm {
            return refuse(
                403,
                "the agent's SIP credentials were made for another realm (hotline agents passwd)",
            );
        }
        // Only an algorithm we challenged with: an operator who turned MD5 off means it.
        let Some(algorithm) = DigestAlgorithm::from_token(auth.algorithm.as_deref())
            .filter(|a| self.algorithms.contains(a))
        else {
            return self.challenge(now, random, false);
        };
        let (Some(nc), Some(cnonce), Some("auth")) = (
            auth.nonce_count(),
            auth.cnonce.as_deref(),
            auth.qop.as_deref(),
        ) else {
            return self.challenge(now, random, false);
        };
        let expected = digest::expected_response(
            algorithm,
            secrets.ha1(algorithm),
            &ResponseInput {
                method: "REGISTER",
                uri: &auth.uri,
                nonce: &auth.nonce,
                qop: Some(QopInput {
                    nc: auth.nc.as_deref().unwrap_or_default(),
                    cnonce,
                    qop: "auth",
                }),
            },
        );
        if !digest::responses_match(&expected, &auth.response) {
            return self.fail_and_rechallenge(request, now, random, "wrong credentials");
        }
        match self.nonces.state(&auth.nonce, now) {
            NonceState::Unknown => return self.challenge(now, random, false),
            NonceState::Stale => return self.challenge(now, random, true),
            NonceState::Fresh { last_nc } if nc <= last_nc => {
                return self.fail_and_rechallenge(request, now, random, "replayed nonce count");
            }
            NonceState::Fresh { .. } => self.nonces.accept(&auth.nonce, nc),
        }
        self.by_login.clear(&request.login);
        self.by_source.clear(&request.source.ip());
        let binding = BindingRequest {
            login: &request.login,
            call_id: &request.call_id,
            cseq: request.cseq,
            source: request.source,
            transport: request.transport,
            contacts: &request.contacts,
            expires: request.expires,
        };
        match self.bindings.apply(&binding, self.rules, now) {
            BindingOutcome::Done { bindings, events } => RegisterDecision::Registered {
                contacts: bindings
                    .iter()
                    .map(|b| (b.uri.clone(), b.remaining_secs(now)))
                    .collect(),
                events,
            },
            BindingOutcome::IntervalTooBrief { min } => RegisterDecision::IntervalTooBrief { min },
            BindingOutcome::TooManyContacts => refuse(403, "too many contacts for this agent"),
            BindingOutcome::BadWildcard => refuse(400, "Contact: * needs Expires: 0"),
            BindingOutcome::OutOfOrder => refuse(400, "CSeq not above the binding's"),
        }
    }

    /// The agent's live contacts.
    pub fn contacts(&self, login: &str, now: Instant) -> Vec<ContactBinding> {
        self.bindings.of(login, now)
    }

    /// Agents with at least one live contact, sorted.
    pub fn registered(&self, now: Instant) -> Vec<String> {
        self.bindings.logins(now)
    }

    /// Drops expired bindings (returning what went) and forgets ended failure windows.
    pub fn expire(&mut self, now: Instant) -> Vec<RegistrationEvent> {
        self.by_source.sweep(now);
        self.by_login.sweep(now);
        self.bindings.expire(now)
    }

    /// The Authorization header for our realm, if any.
    fn credentials(&self, request: &RegisterRequest) -> Credentials {
        let mut malformed = false;
        for value in &request.authorizations {
            match digest::parse_authorization(value) {
                Ok(auth) if auth.realm == self.realm => return Credentials::Digest(Box::new(auth)),
                Ok(_) | Err(DigestParseError::NotDigest) => {}
                Err(_) => malformed = true,
            }
        }
        if malformed {
            Credentials::Malformed
        } else {
            Credentials::None
        }
    }

    fn fail(&mut self, request: &RegisterRequest, now: Instant) -> bool {
        let source = self.by_source.fail(&request.source.ip(), now);
        let login = self.by_login.fail(&request.login, now);
        source || login
    }

    fn fail_and_rechallenge(
        &mut self,
        request: &RegisterRequest,
        now: Instant,
        random: [u8; 16],
        why: &'static str,
    ) -> RegisterDecision {
        if self.fail(request, now) {
            return refuse(
                403,
                match why {
                    "replayed nonce count" => {
                        "replayed nonce count; failure limit reached, blocking"
                    }
                    _ => "wrong credentials; failure limit reached, blocking",
                },
            );
        }
        self.challenge(now, random, false)
    }

    fn challenge(&mut self, now: Instant, random: [u8; 16], stale: bool) -> RegisterDecision {
        let nonce = self.nonces.issue(now, random);
        RegisterDecision::Challenge {
            challenges: self
                .algorithms
                .iter()
                .map(|a| digest::challenge(*a, &self.realm, &nonce, &self.opaque, stale))
                .collect(),
            stale,
        }
    }
}

fn refuse(status: u16, why: &'static str) -> RegisterDecision {
    RegisterDecision::Refuse { status, why }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::registrar::bindings::{RequestedContact, UnbindReason};

    const PASSWORD: &str = "correct horse";

    fn config() -> RegistrarConfig {
        RegistrarConfig {
            max_failures_per_source: 3,
            max_failures_per_user: 5,
            failure_window_secs: 60,
            nonce_lifetime_secs: 30,
            ..RegistrarConfig::default()
        }
    }

    fn secrets() -> AgentSecrets {
        AgentSecrets::Enabled(DigestSecrets::derive("alice", "hotline", PASSWORD))
    }

    fn register(source: &str, cseq: u32) -> RegisterRequest {
        RegisterRequest {
            login: "alice".into(),
            call_id: "call-1".into(),
            cseq,
            source: source.parse().unwrap(),
            transport: Transport::Udp,
            contacts: ContactSet::List(vec![RequestedContact {
                uri: "sip:alice@127.0.0.1:5070".into(),
                expires: None,
            }]),
            expires: Some(600),
            authorizations: vec![],
        }
    }

    /// Reads `name="value"` from a challenge.
    fn param(challenge: &str, name: &str) -> String {
        let start = challenge.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        challenge[start..].split('"').next().unwrap().to_string()
    }

    /// What a phone sends back to `challenge`.
    fn answer(challenge: &str, algorithm: DigestAlgorithm, password: &str, nc: u32) -> String {
        let nonce = param(challenge, "nonce");
        let opaque = param(challenge, "opaque");
        let nc = format!("{nc:08x}");
        let ha1 = digest::ha1(algorithm, "alice", "hotline", password);
        let uri = "sip:127.0.0.1";
        let response = digest::expected_response(
            algorithm,
            &ha1,
            &ResponseInput {
                method: "REGISTER",
                uri,
                nonce: &nonce,
                qop: Some(QopInput {
                    nc: &nc,
                    cnonce: "c0ffee",
                    qop: "auth",
                }),
            },
        );
        format!(
            "Digest username=\"alice\", realm=\"hotline\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm={}, cnonce=\"c0ffee\", nc={nc}, qop=auth, opaque=\"{opaque}\"",
            algorithm.token()
        )
    }

    fn challenges(decision: RegisterDecision) -> Vec<String> {
        match decision {
            RegisterDecision::Challenge { challenges, .. } => challenges,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    /// Runs both steps as the shell does.
    fn run(
        r: &mut Registrar,
        request: &RegisterRequest,
        secrets: &AgentSecrets,
        now: Instant,
    ) -> RegisterDecision {
        match r.begin(request, now, rand::random()) {
            RegisterDecision::LookUp { .. } => r.finish(request, secrets, now, rand::random()),
            other => other,
        }
    }

    #[test]
    fn the_configured_algorithms_are_challenged_in_order_and_no_other_is_taken() {
        let md5_only = RegistrarConfig {
            algorithms: vec!["MD5".into()],
            ..config()
        };
        let mut r = Registrar::new(&md5_only, [1; 16]);
        let list = challenges(r.begin(&register("127.0.0.1:5070", 1), Instant::now(), [2; 16]));
        assert_eq!(list.len(), 1);
        assert!(list[0].contains("algorithm=MD5"), "{list:?}");
        let sha_only = RegistrarConfig {
            algorithms: vec!["SHA-256".into()],
            ..config()
        };
        let mut r = Registrar::new(&sha_only, [1; 16]);
        let now = Instant::now();
        let list = challenges(r.begin(&register("127.0.0.1:5070", 1), now, [2; 16]));
        let mut request = register("127.0.0.1:5070", 2);
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 1)];
        let decision = run(&mut r, &request, &secrets(), now);
        assert!(
            matches!(decision, RegisterDecision::Challenge { .. }),
            "an MD5 answer to a SHA-256-only registrar is challenged again: {decision:?}"
        );
        let bad = RegistrarConfig {
            algorithms: vec!["SHA-1".into()],
            ..config()
        };
        assert_eq!(bad.problem().map(|p| p.0), Some("algorithms"));
    }

    #[test]
    fn a_register_without_credentials_is_challenged_with_sha256_and_md5() {
        let mut r = Registrar::new(&config(), [1; 16]);
        let list = challenges(r.begin(&register("127.0.0.1:5070", 1), Instant::now(), [2; 16]));
        assert_eq!(list.len(), 2);
        assert!(list[0].contains("algorithm=SHA-256") && list[1].contains("algorithm=MD5"));
        for c in &list {
            assert!(
                c.contains("qop=\"auth\"")
                    && c.contains("opaque=")
                    && c.contains("realm=\"hotline\"")
            );
        }
    }

    #[test]
    fn the_right_password_registers_with_either_algorithm() {
        for algorithm in [DigestAlgorithm::Md5, DigestAlgorithm::Sha256] {
            let t0 = Instant::now();
            let mut r = Registrar::new(&config(), [1; 16]);
            let mut request = register("127.0.0.1:5070", 1);
            let list = challenges(r.begin(&request, t0, [2; 16]));
            request.authorizations = vec![answer(&list[0], algorithm, PASSWORD, 1)];
            request.cseq = 2;
            match run(&mut r, &request, &secrets(), t0) {
                RegisterDecision::Registered { contacts, events } => {
                    assert_eq!(
                        contacts,
                        vec![("sip:alice@127.0.0.1:5070".to_string(), 600)]
                    );
                    assert!(matches!(
                        &events[..],
                        [RegistrationEvent::Registered { contacts: 1, .. }]
                    ));
                }
                other => panic!("{algorithm:?}: {other:?}"),
            }
            let bound = r.contacts("alice", t0);
            assert_eq!(bound[0].source.to_string(), "127.0.0.1:5070");
            assert_eq!(r.registered(t0), vec!["alice".to_string()]);
        }
    }

    #[test]
    fn a_wrong_password_is_challenged_again_and_binds_nothing() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[1], DigestAlgorithm::Md5, "guess", 1)];
        challenges(run(&mut r, &request, &secrets(), t0));
        assert!(r.contacts("alice", t0).is_empty());
    }

    #[test]
    fn an_unknown_or_disabled_agent_is_refused_with_403() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Sha256, PASSWORD, 1)];
        assert!(matches!(
            run(&mut r, &request, &AgentSecrets::Refused, t0),
            RegisterDecision::Refuse { status: 403, .. }
        ));
    }

    #[test]
    fn secrets_made_for_another_realm_are_refused() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Sha256, PASSWORD, 1)];
        let old = AgentSecrets::Enabled(DigestSecrets::derive("alice", "old-realm", PASSWORD));
        assert!(matches!(
            run(&mut r, &request, &old, t0),
            RegisterDecision::Refuse { status: 403, .. }
        ));
    }

    #[test]
    fn an_expired_nonce_with_the_right_credentials_is_answered_stale() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Sha256, PASSWORD, 1)];
        let later = t0 + Duration::from_secs(31);
        match run(&mut r, &request, &secrets(), later) {
            RegisterDecision::Challenge {
                stale: true,
                challenges,
            } => {
                assert!(challenges.iter().all(|c| c.ends_with("stale=true")));
            }
            other => panic!("{other:?}"),
        }
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Sha256, "guess", 1)];
        assert!(
            matches!(
                run(&mut r, &request, &secrets(), later),
                RegisterDecision::Challenge { stale: false, .. }
            ),
            "wrong credentials on an old nonce are not merely stale"
        );
    }

    #[test]
    fn a_replayed_nonce_count_is_refused_and_a_higher_one_accepted() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 1)];
        request.cseq = 2;
        assert!(matches!(
            run(&mut r, &request, &secrets(), t0),
            RegisterDecision::Registered { .. }
        ));
        request.cseq = 3;
        challenges(run(&mut r, &request, &secrets(), t0));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 2)];
        assert!(matches!(
            run(&mut r, &request, &secrets(), t0),
            RegisterDecision::Registered { .. }
        ));
    }

    #[test]
    fn a_nonce_we_never_issued_is_challenged_without_a_lookup() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let forged = "Digest username=\"alice\", realm=\"hotline\", nonce=\"forged\", uri=\"sip:x\", response=\"00\", qop=auth, nc=00000001, cnonce=\"c\"";
        request.authorizations = vec![forged.into()];
        challenges(r.begin(&request, t0, [2; 16]));
    }

    #[test]
    fn a_malformed_authorization_is_a_bad_request() {
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        request.authorizations = vec!["Digest username=\"alice".into()];
        assert!(matches!(
            r.begin(&request, Instant::now(), [2; 16]),
            RegisterDecision::Refuse { status: 400, .. }
        ));
    }

    #[test]
    fn unregistering_removes_the_binding_and_announces_it() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 1)];
        run(&mut r, &request, &secrets(), t0);
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 2)];
        request.cseq = 2;
        request.contacts = ContactSet::All;
        request.expires = Some(0);
        match run(&mut r, &request, &secrets(), t0) {
            RegisterDecision::Registered { contacts, events } => {
                assert!(contacts.is_empty());
                assert!(matches!(
                    &events[..],
                    [RegistrationEvent::Unregistered {
                        reason: UnbindReason::Removed,
                        contacts: 0,
                        ..
                    }]
                ));
            }
            other => panic!("{other:?}"),
        }
        assert!(r.registered(t0).is_empty());
    }

    #[test]
    fn a_too_short_expiry_gets_423_with_the_minimum() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 1)];
        request.expires = Some(10);
        assert_eq!(
            run(&mut r, &request, &secrets(), t0),
            RegisterDecision::IntervalTooBrief { min: 60 }
        );
    }

    #[test]
    fn registrations_expire_on_their_own() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 1)];
        run(&mut r, &request, &secrets(), t0);
        let end = t0 + Duration::from_secs(600);
        assert_eq!(r.contacts("alice", end - Duration::from_secs(1)).len(), 1);
        assert!(r.contacts("alice", end).is_empty());
        assert_eq!(r.expire(end).len(), 1);
    }

    #[test]
    fn repeated_failures_from_one_source_are_refused_unheard_until_the_window_ends() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.9:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        for nc in 1..=2 {
            request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, "guess", nc)];
            challenges(run(&mut r, &request, &secrets(), t0));
        }
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, "guess", 3)];
        assert!(matches!(
            run(&mut r, &request, &secrets(), t0),
            RegisterDecision::Refuse { status: 403, .. }
        ));
        // Blocked: even the right password is refused before any lookup.
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 4)];
        assert!(matches!(
            r.begin(&request, t0, [3; 16]),
            RegisterDecision::Refuse { status: 403, .. }
        ));
        let other = register("127.0.0.10:5070", 1);
        challenges(r.begin(&other, t0, [4; 16]));
        // After the window the same source registers again (with a fresh nonce).
        let later = t0 + Duration::from_secs(60);
        let list = challenges(r.begin(&register("127.0.0.9:5070", 5), later, [5; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 1)];
        request.cseq = 6;
        assert!(matches!(
            run(&mut r, &request, &secrets(), later),
            RegisterDecision::Registered { .. }
        ));
    }

    #[test]
    fn repeated_failures_for_one_agent_block_that_agent_from_every_source() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        for i in 0..5u32 {
            let mut request = register(&format!("127.0.1.{i}:5070"), 1);
            let list = challenges(r.begin(&request, t0, rand::random()));
            request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, "guess", 1)];
            run(&mut r, &request, &secrets(), t0);
        }
        let mut request = register("127.0.2.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [9; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 1)];
        assert!(matches!(
            r.begin(&request, t0, [8; 16]),
            RegisterDecision::Refuse { status: 403, .. }
        ));
    }

    #[test]
    fn a_digest_username_other_than_the_to_user_is_refused() {
        let t0 = Instant::now();
        let mut r = Registrar::new(&config(), [1; 16]);
        let mut request = register("127.0.0.1:5070", 1);
        let list = challenges(r.begin(&request, t0, [2; 16]));
        request.authorizations = vec![answer(&list[0], DigestAlgorithm::Md5, PASSWORD, 1)];
        request.login = "bob".into();
        assert!(matches!(
            r.begin(&request, t0, [3; 16]),
            RegisterDecision::Refuse { status: 403, .. }
        ));
    }
}
