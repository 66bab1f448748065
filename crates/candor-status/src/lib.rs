//! Candor's status page: components and their uptime, monitors that open
//! incidents by themselves (with quorum and hysteresis), incidents with
//! timelines, and the pages, feeds and notifications that tell users.
//!
//! - [`model`]: the types.
//! - [`db`]: their durable home, a SQLite file of its own.
//! - [`engine`]: turns probe rounds into component states and incidents.
//! - [`render`]: HTML, Atom, Statuspage-shaped JSON and notification texts.
//! - [`web`]: the pre-rendered public site and its HTTP router.

#![forbid(unsafe_code)]

pub mod db;
pub mod engine;
pub mod model;
pub mod render;
pub mod web;
