//! SIP signalling: a thin adapter over rsipstack (transport, transactions, dialogs).
