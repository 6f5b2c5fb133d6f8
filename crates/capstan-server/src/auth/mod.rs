//! Authentication: password hashes, signed tokens, sessions and login rate limiting.

pub mod jwt;
pub mod oidc;
pub mod password;
pub mod ratelimit;
pub mod session;

pub use session::{Principal, PrincipalKind};
