//! `wirelab tour` (to be written).

use std::process::ExitCode;

use super::Error;
use crate::cli::TourArgs;

pub fn run(_args: &TourArgs, _color: bool) -> Result<ExitCode, Error> {
    Ok(ExitCode::SUCCESS)
}
