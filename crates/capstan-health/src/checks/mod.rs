//! One module per kind with a built-in health check.

pub(crate) mod apiservice;
pub(crate) mod crd;
pub(crate) mod cronjob;
pub(crate) mod daemonset;
pub(crate) mod deployment;
pub(crate) mod hpa;
pub(crate) mod ingress;
pub(crate) mod job;
pub(crate) mod pdb;
pub(crate) mod pod;
pub(crate) mod pvc;
pub(crate) mod replicaset;
pub(crate) mod service;
pub(crate) mod statefulset;
pub(crate) mod workflow;
