//! The directory: users, flat groups (a group holds users, never groups) and memberships.
//! Members of the built-in `administrators` group administer Lanyard.

pub mod model;
pub mod service;
pub mod store;

pub use model::{ADMIN_GROUP_ID, Group, User};
pub use service::Ctx;
