//! The notify stage's SQL tables, for SQLite and PostgreSQL alike (one
//! statement text, respelled by [`crate::db::on_db`]): the outbox and the
//! notification log, the alert history, silences, and the peers' shared
//! views.

pub mod history;
pub mod outbox;
pub mod peers;
pub mod silences;

pub use history::HistoryStore;
pub use outbox::OutboxStore;
pub use peers::PeerStore;
pub use silences::SilenceStore;

/// Every table the running pipeline uses (the dispatcher, its sender and
/// its API): any store with the four, SQL in vigil.
pub trait NotifyTables: OutboxStore + HistoryStore + PeerStore + SilenceStore + 'static {}

impl<T: OutboxStore + HistoryStore + PeerStore + SilenceStore + 'static> NotifyTables for T {}
