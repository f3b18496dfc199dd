//! The one integration-test binary (one link instead of one per file). Each module tests one
//! capability end to end; `support` holds the shared helpers.

mod check;
mod documents;
mod http;
mod loader;
mod props;
mod support;
