//! Scraping: turn `scrape_configs` into targets, run one loop per target,
//! and append what they expose (plus `up` and friends) to the store.

pub mod relabel;
