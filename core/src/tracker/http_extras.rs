//! The app's headers and batch params, replaced at run time (an API key that rotates, a tenant
//! that changes after sign-in). Each takes effect from the next request, including retries of
//! a batch already sent once: neither is part of a batch's identity.

use super::{Tracker, lock};
use crate::error::TrackerError;

impl Tracker {
    /// Replaces the app's headers (empty removes them). A refused list is a typed error and
    /// the headers in force stay as they were. Values are never logged.
    pub fn set_headers(&self, headers: Vec<(String, String)>) -> Result<(), TrackerError> {
        lock(&self.shared.state)
            .request_extras
            .set_headers(headers)?;
        Ok(())
    }

    pub fn headers(&self) -> Vec<(String, String)> {
        lock(&self.shared.state).request_extras.headers().to_vec()
    }

    /// Replaces the fields sent in the `params` object of every batch (empty removes them),
    /// under the metadata caps. A refused map is a typed error and changes nothing.
    pub fn set_params(&self, params: Vec<(String, String)>) -> Result<(), TrackerError> {
        lock(&self.shared.state).request_extras.set_params(params)?;
        Ok(())
    }

    pub fn params(&self) -> Vec<(String, String)> {
        lock(&self.shared.state)
            .request_extras
            .params()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
