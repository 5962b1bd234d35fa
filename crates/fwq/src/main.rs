//! `fwq`: filter JSON Lines with a finder filter or a FlyQL query, using fw-filter alone.
//!
//! Install it with `cargo install --path crates/fwq` (or `cargo install fwq` once
//! published); its build needs only fw-filter, clap and serde_json.
//!
//! ```text
//! fwq [--flyql] EXPR           < docs.jsonl   # print the lines that match, unchanged
//! fwq [--flyql] --print EXPR                  # print the canonical form of EXPR
//! fwq [--flyql] --ast EXPR                    # print the AST as JSON
//! ```
//!
//! Exit codes: 0 on success (also when nothing matches), 2 on a malformed expression or a
//! stdin line that is not JSON, 1 on an I/O error.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use fw_filter::{Filter, ParseError, Query, parse_filter, parse_query};

/// Filter JSON Lines from stdin with a Flywheel finder filter or FlyQL query.
#[derive(Parser)]
#[command(name = "fwq")]
struct Args {
    /// Read EXPR as a FlyQL structured query instead of a finder filter.
    #[arg(long)]
    flyql: bool,
    /// Print the canonical form of EXPR and exit.
    #[arg(long, conflicts_with = "ast")]
    print: bool,
    /// Print the AST of EXPR as JSON and exit.
    #[arg(long)]
    ast: bool,
    /// The filter (e.g. `label=~rest.*,age<30`) or query (e.g. `session.age > 0`).
    expr: String,
}

enum Expr {
    Filter(Filter),
    Query(Query),
}

impl Expr {
    fn parse(text: &str, flyql: bool) -> Result<Expr, ParseError> {
        if flyql {
            parse_query(text).map(Expr::Query)
        } else {
            parse_filter(text).map(Expr::Filter)
        }
    }

    fn matches(&self, doc: &serde_json::Value) -> bool {
        match self {
            Expr::Filter(f) => f.matches(doc),
            Expr::Query(q) => q.matches(doc),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let expr = match Expr::parse(&args.expr, args.flyql) {
        Ok(expr) => expr,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Expr::Filter(filter) = &expr {
        for lint in filter.lints() {
            eprintln!(
                "warning: condition {}: {}",
                lint.condition + 1,
                lint.message
            );
        }
    }
    let result = if args.print {
        let text = match &expr {
            Expr::Filter(f) => f.to_string(),
            Expr::Query(q) => q.to_string(),
        };
        writeln!(io::stdout(), "{text}").map_err(Failure::Io)
    } else if args.ast {
        let json = match &expr {
            Expr::Filter(f) => serde_json::to_string_pretty(f),
            Expr::Query(q) => serde_json::to_string_pretty(q),
        };
        json.map_err(|e| Failure::Io(io::Error::other(e)))
            .and_then(|text| writeln!(io::stdout(), "{text}").map_err(Failure::Io))
    } else {
        filter_lines(&expr, io::stdin().lock(), io::stdout().lock())
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `fwq … | head` closes the pipe early: that is not an error.
        Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Io(e)) => {
            eprintln!("fwq: {e}");
            ExitCode::from(1)
        }
        Err(Failure::BadLine { line, error }) => {
            eprintln!("fwq: stdin line {line} is not JSON: {error}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    Io(io::Error),
    BadLine {
        line: usize,
        error: serde_json::Error,
    },
}

/// Copies the lines of `input` that match to `output`, byte for byte. Blank lines are
/// skipped.
fn filter_lines(expr: &Expr, input: impl BufRead, output: impl Write) -> Result<(), Failure> {
    let mut output = BufWriter::new(output);
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(Failure::Io)?;
        if line.trim().is_empty() {
            continue;
        }
        let doc: serde_json::Value =
            serde_json::from_str(&line).map_err(|error| Failure::BadLine { line: i + 1, error })?;
        if expr.matches(&doc) {
            writeln!(output, "{line}").map_err(Failure::Io)?;
        }
    }
    output.flush().map_err(Failure::Io)
}
