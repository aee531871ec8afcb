//! The embedded database's schema, as numbered migrations applied in order at start-up.
//! `PRAGMA user_version` records how many have run; a migration is never edited once
//! released, only followed by a new one.

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the bank demo's customers, accounts, cards and transactions; verification lockouts.
    "CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        -- Caller id as digits only (country code included), for ANI matching.
        phone TEXT UNIQUE,
        tier TEXT NOT NULL DEFAULT 'standard',
        date_of_birth TEXT
    );
    CREATE TABLE accounts (
        number TEXT PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        kind TEXT NOT NULL DEFAULT 'checking',
        balance_cents INTEGER NOT NULL DEFAULT 0,
        -- argon2id PHC string; the PIN itself is never stored.
        pin_hash TEXT NOT NULL
    );
    CREATE TABLE cards (
        number TEXT PRIMARY KEY,
        account TEXT NOT NULL REFERENCES accounts(number),
        last4 TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active'
    );
    CREATE TABLE transactions (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL REFERENCES accounts(number),
        posted_on TEXT NOT NULL,
        amount_cents INTEGER NOT NULL,
        description TEXT NOT NULL
    );
    CREATE INDEX transactions_by_account ON transactions(account, posted_on);
    CREATE TABLE lockouts (
        -- 'account' or 'caller'.
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        -- Unix seconds; 0 when not locked.
        locked_until INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (kind, key)
    );",
    // 2: agents (people who take transferred calls) and their skills. The HTTP password is
    // an argon2id PHC string; SIP digest keeps only HA1 = H(login:realm:password) for the
    // realm in `realm` (docs/agents.md says why and what a realm change means).
    "CREATE TABLE agents (
        id INTEGER PRIMARY KEY,
        login TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor')),
        password_hash TEXT NOT NULL,
        realm TEXT NOT NULL,
        ha1_md5 TEXT NOT NULL,
        ha1_sha256 TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        -- Unix seconds.
        created_at INTEGER NOT NULL
    );
    CREATE TABLE agent_skills (
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        skill TEXT NOT NULL,
        proficiency INTEGER NOT NULL CHECK (proficiency BETWEEN 1 AND 5),
        PRIMARY KEY (agent_id, skill)
    );",
    // 3: tickets, one per agent transfer, holding the context envelope the agent received,
    // closed by the agent's wrap-up (data/tickets.rs).
    "CREATE TABLE tickets (
        -- AUTOINCREMENT: a ticket number is never given out twice, even after a delete.
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL,
        -- RFC 3339 UTC with milliseconds (sorts as text).
        opened_at TEXT NOT NULL,
        queue TEXT NOT NULL,
        intent TEXT,
        -- The caller id as presented, and its last ten digits for finding recent contacts.
        caller TEXT NOT NULL,
        caller_key TEXT NOT NULL,
        -- The context envelope JSON (acd/envelope.rs), already masked.
        envelope TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
        disposition TEXT,
        notes TEXT,
        agent TEXT,
        closed_at TEXT
    );
    CREATE INDEX tickets_by_caller ON tickets(caller_key, opened_at);
    CREATE INDEX tickets_by_call ON tickets(call_id);",
    // 4: what happened to callers in the agent queues (enqueued, offered to whom, answered,
    // abandoned, re-queued ...), one row per ACD record (data/queue_events.rs).
    "CREATE TABLE queue_events (
        id INTEGER PRIMARY KEY,
        -- RFC 3339 UTC with milliseconds (sorts as text).
        at TEXT NOT NULL,
        call_id TEXT NOT NULL,
        queue TEXT NOT NULL,
        event TEXT NOT NULL,
        agent TEXT,
        -- The whole record as JSON (waits and talk times in seconds, causes).
        detail TEXT NOT NULL
    );
    CREATE INDEX queue_events_by_call ON queue_events(call_id, id);
    CREATE INDEX queue_events_by_time ON queue_events(at);",
    // 5: call detail records, one row per call and one per leg (cdr/). Times are RFC 3339
    // UTC with milliseconds; a row with no `ended_at` is a call in progress, or one a
    // crash interrupted (closed as 'server stopped' at the next start).
    "CREATE TABLE cdr_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('inbound', 'callback')),
        caller TEXT NOT NULL,
        dialled TEXT NOT NULL,
        started_at TEXT NOT NULL,
        answered_at TEXT,
        ended_at TEXT,
        end_reason TEXT,
        dialplan TEXT,
        dialplan_version TEXT,
        -- The steps walked, `flow.step` joined by ' > '.
        path TEXT,
        intent TEXT,
        queue TEXT,
        agent TEXT,
        wait_ms INTEGER,
        talk_ms INTEGER,
        duration_ms INTEGER
    );
    CREATE INDEX cdr_calls_by_start ON cdr_calls(started_at);
    CREATE INDEX cdr_calls_by_call_id ON cdr_calls(call_id);
    CREATE INDEX cdr_calls_open ON cdr_calls(ended_at) WHERE ended_at IS NULL;
    CREATE TABLE cdr_legs (
        id INTEGER PRIMARY KEY,
        call INTEGER NOT NULL REFERENCES cdr_calls(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('caller', 'agent')),
        party TEXT NOT NULL,
        started_at TEXT NOT NULL,
        answered_at TEXT,
        ended_at TEXT,
        end_reason TEXT
    );
    CREATE INDEX cdr_legs_by_call ON cdr_legs(call, id);
    -- The CDR writer's last sign of life: a crash's calls are closed at this time.
    CREATE TABLE cdr_heartbeat (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at TEXT NOT NULL
    );",
];
