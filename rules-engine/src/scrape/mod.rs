//! Scraping: turn `scrape_configs` into targets, run one loop per target,
//! and append what they expose (plus `up` and friends) to the store.
//!
//! ```text
//! config ─► manager ─► pool per job ─► scrape_loop per target ─► scraper
//!              ▲ file_sd (polled)        (slot offset, clock)     fetch ─► parse ─► samples ─► Appender
//! ```

pub mod client;
pub mod config;
pub mod file_sd;
pub mod manager;
pub mod metadata;
pub mod relabel;
pub mod samples;
pub mod scrape_loop;
pub mod scraper;
pub mod stats;
pub mod target;

pub use manager::{ActiveTarget, ScrapeManager, TargetsView};
pub use scraper::{Health, RestoredHistory, ScrapeReport, ScrapeStatus, Scraper};
pub use target::{Target, TargetGroup};
