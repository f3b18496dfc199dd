//! The one integration-test binary (one link instead of one per file). Each module tests one
//! capability end to end; `support` holds the shared helpers.

mod browser;
mod caches;
mod check;
mod container;
mod documents;
mod export_nginx;
mod export_watch;
mod hostile;
mod http;
mod hub;
mod live;
mod loader;
mod polling;
mod props;
mod purge;
mod reader;
mod replicas;
mod support;
mod tidy;
mod websub;
