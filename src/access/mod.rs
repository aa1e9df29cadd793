//! Multi-account access, the IAM Identity Center model: accounts grouped into organisational
//! units ([`accounts`]); permission sets made of managed and inline policies, provisioned as a
//! role in every account where they are assigned ([`permission_sets`]); assignments of
//! permission sets to users or groups in accounts ([`assignments`]); and decisions and the
//! simulator ([`decision`]) over the pure policy engine ([`policy`]).

pub mod accounts;
pub mod assignments;
pub mod decision;
pub mod model;
pub mod permission_sets;
pub mod policy;
pub mod store;
