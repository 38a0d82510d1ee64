//! The insights room: what happened flows back to the team. So far, DORA's four keys of software
//! delivery performance computed from an environment's own deployments, pure (the caller reads
//! the deployments from the store and passes the period and the time): deployment frequency,
//! lead time for changes, change failure rate and failed deployment recovery time, each with the
//! ids of the deployments it rests on so that a figure can be checked by hand, and the
//! performance level of DORA's clusters where DORA defines one (see [`dora`]).

pub mod automation;
pub mod cdevents;
pub mod devlake;
pub mod dora;
pub mod links;
pub mod notifications;
pub mod stream;
