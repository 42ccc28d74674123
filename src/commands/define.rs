//! `wirelab define TERM` and `wirelab layers` (to be written).

use std::process::ExitCode;

use super::Error;
use crate::cli::DefineArgs;

pub fn define(_args: &DefineArgs) -> Result<ExitCode, Error> {
    Ok(ExitCode::SUCCESS)
}

pub fn layers(_color: bool) -> Result<ExitCode, Error> {
    Ok(ExitCode::SUCCESS)
}
