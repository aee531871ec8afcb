//! Agents' registered contacts and the RFC 3261 §10.3 rules for changing them: expiry
//! from the contact's `expires` parameter, else the Expires header, else the default;
//! 423 below the minimum; shortened to the maximum; `Contact: *` with `Expires: 0` removes
//! all; a replayed or reordered REGISTER (same Call-ID, CSeq not higher) changes nothing.

use crate::config::Transport;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One registered phone of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactBinding {
    /// The Contact URI as the phone wrote it (without angle brackets).
    pub uri: String,
    /// The transport the REGISTER came over.
    pub transport: Transport,
    /// Where the REGISTER came from: behind NAT this, not the URI, reaches the phone.
    pub source: SocketAddr,
    pub expires_at: Instant,
    call_id: String,
    cseq: u32,
}

impl ContactBinding {
    /// Seconds left, rounded up (what the 200 OK lists).
    pub fn remaining_secs(&self, now: Instant) -> u32 {
        let left = self.expires_at.saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }
}

/// A contact in a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedContact {
    pub uri: String,
    /// The contact's own `expires` parameter.
    pub expires: Option<u32>,
}

/// The Contact headers of a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactSet {
    /// `Contact: *`.
    All,
    /// Zero or more contacts (none: a query for the current bindings).
    List(Vec<RequestedContact>),
}

/// What the registrar knows of one REGISTER, besides its credentials.
#[derive(Debug, Clone)]
pub struct BindingRequest<'a> {
    pub login: &'a str,
    pub call_id: &'a str,
    pub cseq: u32,
    pub source: SocketAddr,
    pub transport: Transport,
    pub contacts: &'a ContactSet,
    /// The Expires header.
    pub expires: Option<u32>,
}

/// Expiry rules, from `[registrar]`.
#[derive(Debug, Clone, Copy)]
pub struct ExpiryRules {
    pub min: u32,
    pub max: u32,
    pub default: u32,
    pub max_contacts: usize,
}

/// Why a phone's binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnbindReason {
    /// The phone unregistered (expires 0, or `Contact: *`).
    Removed,
    /// It was not refreshed in time.
    Expired,
}

/// A phone came or went: what the ACD listens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationEvent {
    Registered {
        login: String,
        contact: ContactBinding,
        /// Contacts the agent has now, this one included.
        contacts: usize,
    },
    Unregistered {
        login: String,
        uri: String,
        reason: UnbindReason,
        /// Contacts the agent has left (0: no phone reaches them).
        contacts: usize,
    },
}

/// A REGISTER's effect on the bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingOutcome {
    /// Applied: the agent's bindings now, and what changed.
    Done {
        bindings: Vec<ContactBinding>,
        events: Vec<RegistrationEvent>,
    },
    /// An expiry below the minimum was asked for (423 with Min-Expires).
    IntervalTooBrief { min: u32 },
    /// More contacts than `max_contacts` would be bound.
    TooManyContacts,
    /// `Contact: *` without `Expires: 0`.
    BadWildcard,
    /// Same Call-ID as a binding with a CSeq not higher: an old or repeated REGISTER.
    OutOfOrder,
}

/// Every agent's bindings.
#[derive(Debug, Default)]
pub struct Bindings {
    by_login: HashMap<String, Vec<ContactBinding>>,
}

fn same_uri(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Bindings {
    /// The agent's live bindings.
    pub fn of(&self, login: &str, now: Instant) -> Vec<ContactBinding> {
        self.by_login
            .get(login)
            .map(|list| {
                list.iter()
                    .filter(|b| b.expires_at > now)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Agents with at least one live binding.
    pub fn logins(&self, now: Instant) -> Vec<String> {
        let mut logins: Vec<String> = self
            .by_login
            .iter()
            .filter(|(_, list)| list.iter().any(|b| b.expires_at > now))
            .map(|(login, _)| login.clone())
            .collect();
        logins.sort();
        logins
    }

    pub fn apply(
        &mut self,
        request: &BindingRequest,
        rules: ExpiryRules,
        now: Instant,
    ) -> BindingOutcome {
        let mut events = self.expire_login(request.login, now);
        let current = self
            .by_login
            .get(request.login)
            .cloned()
            .unwrap_or_default();
        let out_of_order = |uri: Option<&str>| {
            current.iter().any(|b| {
                uri.is_none_or(|u| same_uri(&b.uri, u))
                    && b.call_id == request.call_id
                    && b.cseq >= request.cseq
            })
        };
        let next = match request.contacts {
            ContactSet::All => {
                if request.expires != Some(0) {
                    return BindingOutcome::BadWildcard;
                }
                if out_of_order(None) {
                    return BindingOutcome::OutOfOrder;
                }
                Vec::new()
            }
            ContactSet::List(asked) => {
                let mut next = current.clone();
                for contact in asked {
                    let wanted = contact.expires.or(request.expires).unwrap_or(rules.default);
                    if wanted != 0 && wanted < rules.min {
                        return BindingOutcome::IntervalTooBrief { min: rules.min };
                    }
                    if out_of_order(Some(&contact.uri)) {
                        return BindingOutcome::OutOfOrder;
                    }
                    next.retain(|b| !same_uri(&b.uri, &contact.uri));
                    if wanted > 0 {
                        next.push(ContactBinding {
                            uri: contact.uri.clone(),
                            transport: request.transport,
                            source: request.source,
                            expires_at: now + Duration::from_secs(u64::from(wanted.min(rules.max))),
                            call_id: request.call_id.to_string(),
                            cseq: request.cseq,
                        });
                    }
                }
                if next.len() > rules.max_contacts {
                    return BindingOutcome::TooManyContacts;
                }
                next
            }
        };
        for gone in current
            .iter()
            .filter(|b| !next.iter().any(|n| same_uri(&n.uri, &b.uri)))
        {
            events.push(RegistrationEvent::Unregistered {
                login: request.login.to_string(),
                uri: gone.uri.clone(),
                reason: UnbindReason::Removed,
                contacts: next.len(),
            });
        }
        for new in next
            .iter()
            .filter(|n| !current.iter().any(|b| same_uri(&n.uri, &b.uri)))
        {
            events.push(RegistrationEvent::Registered {
                login: request.login.to_string(),
                contact: new.clone(),
                contacts: next.len(),
            });
        }
        if next.is_empty() {
            self.by_login.remove(request.login);
        } else {
            self.by_login
                .insert(request.login.to_string(), next.clone());
        }
        BindingOutcome::Done {
            bindings: next,
            events,
        }
    }

    /// Drops every binding past its expiry.
    pub fn expire(&mut self, now: Instant) -> Vec<RegistrationEvent> {
        let logins: Vec<String> = self.by_login.keys().cloned().collect();
        logins
            .iter()
            .flat_map(|login| self.expire_login(login, now))
            .collect()
    }

    fn expire_login(&mut self, login: &str, now: Instant) -> Vec<RegistrationEvent> {
        let Some(list) = self.by_login.get_mut(login) else {
            return Vec::new();
        };
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(list)
            .into_iter()
            .partition(|b| b.expires_at <= now);
        let left = kept.len();
        if kept.is_empty() {
            self.by_login.remove(login);
        } else {
            *list = kept;
        }
        gone.into_iter()
            .map(|b| RegistrationEvent::Unregistered {
                login: login.to_string(),
                uri: b.uri,
                reason: UnbindReason::Expired,
                contacts: left,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: ExpiryRules = ExpiryRules {
        min: 60,
        max: 3600,
        default: 600,
        max_contacts: 2,
    };

    fn contact(uri: &str, expires: Option<u32>) -> RequestedContact {
        RequestedContact {
            uri: uri.into(),
            expires,
        }
    }

    fn request<'a>(
        contacts: &'a ContactSet,
        cseq: u32,
        expires: Option<u32>,
    ) -> BindingRequest<'a> {
        BindingRequest {
            login: "alice",
            call_id: "c1",
            cseq,
            source: "127.0.0.1:5070".parse().unwrap(),
            transport: Transport::Udp,
            contacts,
            expires,
        }
    }

    fn done(outcome: BindingOutcome) -> (Vec<ContactBinding>, Vec<RegistrationEvent>) {
        match outcome {
            BindingOutcome::Done { bindings, events } => (bindings, events),
            other => panic!("not applied: {other:?}"),
        }
    }

    #[test]
    fn the_contact_parameter_wins_over_the_header_and_the_maximum_caps_both() {
        let t0 = Instant::now();
        let mut b = Bindings::default();
        let set = ContactSet::List(vec![
            contact("sip:a@1.2.3.4", Some(120)),
            contact("sip:a@5.6.7.8", None),
        ]);
        let (bound, events) = done(b.apply(&request(&set, 1, Some(90_000)), RULES, t0));
        assert_eq!(bound[0].remaining_secs(t0), 120);
        assert_eq!(bound[1].remaining_secs(t0), 3600, "capped at the maximum");
        assert_eq!(events.len(), 2);
        let set = ContactSet::List(vec![contact("sip:b@1.2.3.4", None)]);
        let mut other = request(&set, 1, None);
        other.login = "bob";
        let (bound, _) = done(b.apply(&other, RULES, t0));
        assert_eq!(bound[0].remaining_secs(t0), 600, "the default");
    }

    #[test]
    fn several_contacts_per_agent_are_kept_until_the_limit() {
        let t0 = Instant::now();
        let mut b = Bindings::default();
        let one = ContactSet::List(vec![contact("sip:desk@10.0.0.1", None)]);
        done(b.apply(&request(&one, 1, None), RULES, t0));
        let two = ContactSet::List(vec![contact("sip:soft@10.0.0.2", None)]);
        let mut from_softphone = request(&two, 1, None);
        from_softphone.call_id = "c2";
        let (bound, _) = done(b.apply(&from_softphone, RULES, t0));
        assert_eq!(bound.len(), 2);
        assert_eq!(b.of("alice", t0).len(), 2);
        let three = ContactSet::List(vec![contact("sip:mobile@10.0.0.3", None)]);
        let mut third = request(&three, 1, None);
        third.call_id = "c3";
        assert_eq!(b.apply(&third, RULES, t0), BindingOutcome::TooManyContacts);
        assert_eq!(b.of("alice", t0).len(), 2, "nothing changed");
    }

    #[test]
    fn a_too_short_expiry_is_refused_with_the_minimum_and_zero_is_not_too_short() {
        let t0 = Instant::now();
        let mut b = Bindings::default();
        let set = ContactSet::List(vec![contact("sip:a@h", Some(30))]);
        assert_eq!(
            b.apply(&request(&set, 1, None), RULES, t0),
            BindingOutcome::IntervalTooBrief { min: 60 }
        );
        let set = ContactSet::List(vec![contact("sip:a@h", None)]);
        done(b.apply(&request(&set, 2, None), RULES, t0));
        let (bound, events) = done(b.apply(&request(&set, 3, Some(0)), RULES, t0));
        assert!(bound.is_empty());
        assert!(matches!(
            &events[..],
            [RegistrationEvent::Unregistered {
                reason: UnbindReason::Removed,
                contacts: 0,
                ..
            }]
        ));
    }

    #[test]
    fn a_wildcard_unregisters_every_contact_only_with_expires_zero() {
        let t0 = Instant::now();
        let mut b = Bindings::default();
        let set = ContactSet::List(vec![contact("sip:a@h1", None), contact("sip:a@h2", None)]);
        done(b.apply(&request(&set, 1, None), RULES, t0));
        assert_eq!(
            b.apply(&request(&ContactSet::All, 2, None), RULES, t0),
            BindingOutcome::BadWildcard
        );
        let (bound, events) = done(b.apply(&request(&ContactSet::All, 2, Some(0)), RULES, t0));
        assert!(bound.is_empty());
        assert_eq!(events.len(), 2);
        assert!(b.of("alice", t0).is_empty());
    }

    #[test]
    fn a_register_with_an_old_cseq_in_the_same_call_id_changes_nothing() {
        let t0 = Instant::now();
        let mut b = Bindings::default();
        let set = ContactSet::List(vec![contact("sip:a@h", None)]);
        done(b.apply(&request(&set, 5, None), RULES, t0));
        assert_eq!(
            b.apply(&request(&set, 5, Some(0)), RULES, t0),
            BindingOutcome::OutOfOrder
        );
        assert_eq!(b.of("alice", t0).len(), 1);
    }

    #[test]
    fn bindings_expire_on_their_own_and_say_so() {
        let t0 = Instant::now();
        let mut b = Bindings::default();
        let set = ContactSet::List(vec![
            contact("sip:a@h", Some(60)),
            contact("sip:a@g", Some(120)),
        ]);
        done(b.apply(&request(&set, 1, None), RULES, t0));
        assert!(b.expire(t0 + Duration::from_secs(59)).is_empty());
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(
            b.of("alice", t1).len(),
            1,
            "a lookup never shows an expired binding"
        );
        let events = b.expire(t1);
        assert!(matches!(
            &events[..],
            [RegistrationEvent::Unregistered {
                reason: UnbindReason::Expired,
                contacts: 1,
                ..
            }]
        ));
        assert_eq!(b.logins(t1), vec!["alice".to_string()]);
        b.expire(t0 + Duration::from_secs(120));
        assert!(b.logins(t0 + Duration::from_secs(120)).is_empty());
    }

    #[test]
    fn an_empty_contact_list_is_a_query_that_changes_nothing() {
        let t0 = Instant::now();
        let mut b = Bindings::default();
        let set = ContactSet::List(vec![contact("sip:a@h", None)]);
        done(b.apply(&request(&set, 1, None), RULES, t0));
        let query = ContactSet::List(vec![]);
        let (bound, events) = done(b.apply(&request(&query, 2, None), RULES, t0));
        assert_eq!(bound.len(), 1);
        assert!(events.is_empty());
    }
}
