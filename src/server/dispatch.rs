//! Routes every new server transaction: a new INVITE becomes a call task, in-dialog
//! requests go to their dialog, OPTIONS is answered here, REGISTER goes to the
//! registrar, everything else is refused with the right status.

use super::Shared;
use super::registry::CallSummary;
use crate::call;
use crate::sip::Transaction;
use crate::sip::admission;
use crate::sip::message::{Header, Method, StatusCode};
use crate::sip::reject::{ALLOWED_METHODS, ALLOWED_WITHOUT_REGISTRAR};
use rsipstack::dialog::dialog::Dialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::transaction::TransactionReceiver;
use std::sync::Arc;
use tracing::{debug, info, warn};

/// How long a caller is asked to wait before retrying while we drain or are full.
const RETRY_AFTER_SECS: &str = "30";

pub async fn run(shared: Arc<Shared>, mut incoming: TransactionReceiver) {
    while let Some(tx) = incoming.recv().await {
        dispatch(&shared, tx).await;
    }
}

fn has_to_tag(tx: &Transaction) -> bool {
    tx.original
        .to_header()
        .ok()
        .and_then(|to| to.tag().ok().flatten())
        .is_some()
}

async fn dispatch(shared: &Arc<Shared>, mut tx: Transaction) {
    let method = tx.original.method;
    if method == Method::Register {
        // Before the To-tag check: some phones keep the tag of an earlier 200 on refreshes.
        return match &shared.registrar {
            Some(registrar) => registrar.handle(tx).await,
            None => {
                let allow = vec![Header::Other("Allow".into(), allowed(shared).into())];
                reply(tx, StatusCode::MethodNotAllowed, allow).await
            }
        };
    }
    if has_to_tag(&tx) {
        return in_dialog(shared, tx).await;
    }
    let over_tls = tx
        .connection
        .as_ref()
        .is_some_and(|c| c.transport() == rsipstack::sip::transport::Transport::Tls);
    if let Some(refusal) = admission::judge_request(&tx.original, over_tls) {
        info!(status = refusal.status, detail = %refusal.detail, "refused a request");
        if method == Method::Invite && !has_to_tag(&tx) {
            shared.env.metrics.call_setup(refusal.status);
        }
        let headers = refusal
            .headers
            .into_iter()
            .map(|(name, value)| Header::Other(name.into(), value))
            .collect();
        return reply(tx, StatusCode::from(refusal.status), headers).await;
    }
    match method {
        Method::Invite => new_call(shared, tx).await,
        Method::Options => {
            let headers = capability_headers(allowed(shared));
            if let Err(err) = tx.reply_with(StatusCode::OK, headers, None).await {
                debug!(error = %err, "could not answer OPTIONS");
            }
        }
        Method::Ack => {} // an ACK for nothing we know: absorbed (RFC 3261 §17.2.3)
        Method::Bye | Method::Info | Method::Update | Method::PRack => {
            reply(tx, StatusCode::CallTransactionDoesNotExist, vec![]).await;
        }
        _ => {
            let allow = vec![Header::Other("Allow".into(), allowed(shared).into())];
            reply(tx, StatusCode::MethodNotAllowed, allow).await;
        }
    }
}

/// The methods this server takes: REGISTER only with its registrar on.
fn allowed(shared: &Shared) -> &'static str {
    if shared.registrar.is_some() {
        ALLOWED_METHODS
    } else {
        ALLOWED_WITHOUT_REGISTRAR
    }
}

/// Allow/Accept/Supported, for OPTIONS and 405 answers.
pub fn capability_headers(allow: &str) -> Vec<Header> {
    vec![
        Header::Other("Allow".into(), allow.into()),
        Header::Other("Accept".into(), "application/sdp".into()),
        Header::Other("Accept-Language".into(), "en".into()),
        Header::Other("Supported".into(), String::new()),
    ]
}

async fn reply(mut tx: Transaction, status: StatusCode, headers: Vec<Header>) {
    if let Err(err) = tx.reply_with(status, headers, None).await {
        debug!(error = %err, "could not send a response");
    }
}

async fn in_dialog(shared: &Arc<Shared>, mut tx: Transaction) {
    match shared.sip.dialogs.match_dialog(&tx) {
        Some(Dialog::Invite(mut dialog)) => {
            tokio::spawn(async move {
                if let Err(err) = dialog.handle(&mut tx).await {
                    debug!(error = %err, "in-dialog request ended with an error");
                }
            });
        }
        Some(_) => reply(tx, StatusCode::MethodNotAllowed, vec![]).await,
        None if tx.original.method == Method::Ack => {}
        None => reply(tx, StatusCode::CallTransactionDoesNotExist, vec![]).await,
    }
}

async fn new_call(shared: &Arc<Shared>, mut tx: Transaction) {
    if shared.draining.is_cancelled() {
        info!("refusing a call while shutting down");
        shared.env.metrics.call_setup(503);
        let retry = vec![Header::Other("Retry-After".into(), RETRY_AFTER_SECS.into())];
        return reply(tx, StatusCode::ServiceUnavailable, retry).await;
    }
    let summary = CallSummary {
        call_id: tx
            .original
            .call_id_header()
            .map(|h| h.value().to_string())
            .unwrap_or_default(),
        caller: tx
            .original
            .from_header()
            .ok()
            .and_then(|f| f.uri().ok())
            .and_then(|u| u.user().map(str::to_string))
            .unwrap_or_default(),
        started: std::time::SystemTime::now(),
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        // The registry counts the call for as long as its task runs, however it ends.
        let Some(_counted) = shared
            .calls
            .admit(summary, shared.config.calls.max_concurrent)
        else {
            warn!("at capacity: refusing the call");
            shared.env.metrics.call_setup(503);
            let retry = vec![Header::Other("Retry-After".into(), RETRY_AFTER_SECS.into())];
            if let Err(err) = tx
                .reply_with(StatusCode::ServiceUnavailable, retry, None)
                .await
            {
                debug!(error = %err, "could not refuse the call");
            }
            return;
        };
        if let Err(err) = call::run(shared.env.clone(), tx).await {
            warn!(error = %err, "call ended with an error");
        }
    });
}
