//! Multi-account access: accounts, permission sets, assignments and the policy engine that
//! decides with them. So far this holds the policy engine ([`policy`]); the stores, services
//! and pages for accounts, permission sets and assignments come next (see the issue note).

pub mod policy;
