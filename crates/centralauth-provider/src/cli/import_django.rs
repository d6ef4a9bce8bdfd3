//! `import-django --from URL`: carry a running django-centralauth provider over (users with
//! their password hashes, applications with their credentials, permissions, groups,
//! memberships, and with `--with-tokens` live refresh tokens). README: "Migrating from a
//! django-centralauth provider".

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::django_source;
use crate::domain::application::TokenLifetimes;
use crate::domain::authz::Administrator;
use crate::domain::clock::SharedClock;
use crate::domain::django_import::{self, ImportMode, ImportReport, ImportSettings, Progress, TokenImport};

/// Report lines printed per kind of line before the rest are only counted.
const MAX_WARNINGS: usize = 50;

#[derive(Debug, Args)]
pub struct ImportDjangoArgs {
    /// The Django provider's database, read only: sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(long = "from", value_name = "URL")]
    from: String,
    /// Print what would be created, updated, left in conflict and skipped; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also carry over live refresh tokens (with their access tokens), so that users signed in
    /// to the Django clients stay signed in.
    #[arg(long)]
    with_tokens: bool,
    /// Access token lifetime in seconds of the applications the import creates (Django keeps it
    /// in its settings: OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"], 300 by default).
    #[arg(long, default_value_t = TokenLifetimes::default().access_token)]
    access_token_lifetime: i64,
    /// Refresh token lifetime in seconds of the applications the import creates; carried-over
    /// refresh tokens get it from the time of the import.
    #[arg(long, default_value_t = TokenLifetimes::default().refresh_token)]
    refresh_token_lifetime: i64,
}

pub async fn run(database_url: &str, args: ImportDjangoArgs, clock: SharedClock) -> anyhow::Result<()> {
    let lifetimes = TokenLifetimes { access_token: args.access_token_lifetime, refresh_token: args.refresh_token_lifetime }.validate()?;
    let tokens = if args.with_tokens { TokenImport::Import } else { TokenImport::Skip };
    let mode = if args.dry_run { ImportMode::DryRun } else { ImportMode::Apply };
    let progress = StderrProgress::new();
    // The source is read before this database is opened: an unreadable or foreign source
    // leaves this one untouched, not even migrated.
    let export = django_source::read(&args.from, tokens, &progress).await?;
    let store = super::open(database_url, clock.clone()).await?;
    let settings = ImportSettings { mode, tokens, lifetimes, source: django_source::redacted(&args.from), now: clock.now() };
    let report = django_import::run(&Administrator::cli(), store.as_ref(), &export, &settings, &progress).await;
    progress.finish();
    print_report(&report?, tokens);
    Ok(())
}

fn print_report(report: &ImportReport, tokens: TokenImport) {
    if report.mode == ImportMode::DryRun {
        println!("dry run: nothing was written; a real run would do this:");
    }
    for line in &report.lines {
        println!("{line}");
    }
    for warning in report.warnings.iter().take(MAX_WARNINGS) {
        println!("warning: {warning}");
    }
    if report.warnings.len() > MAX_WARNINGS {
        println!("warning: … and {} more like these", report.warnings.len() - MAX_WARNINGS);
    }
    print!("{}", report.table());
    if tokens == TokenImport::Skip {
        println!("refresh tokens were not read (--with-tokens carries them over)");
    }
    if report.changes_nothing() {
        println!("nothing to create or update: this database has everything the Django one has");
    }
    let conflicts = report.conflicts();
    if conflicts > 0 {
        println!(
            "{conflicts} conflicts: those rows were left as they are here (and rows that depend on a conflicting row never \
             imported before were skipped); settle them on either side and run the import again"
        );
    }
}

/// Progress on standard error: a bar on a terminal, otherwise a line per phase and one per
/// quarter of a long phase (for logs of scripted runs).
struct StderrProgress {
    bar: Option<ProgressBar>,
    phase: Mutex<Phase>,
}

#[derive(Default)]
struct Phase {
    name: String,
    total: u64,
    done: u64,
    reported_quarter: u64,
}

impl StderrProgress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar, phase: Mutex::new(Phase::default()) }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for StderrProgress {
    fn start(&self, phase: &str, total: u64) {
        if let Some(bar) = &self.bar {
            let template = if total > 0 { "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})" } else { "{spinner} {msg} ({elapsed})" };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(phase.to_string());
            bar.set_length(total);
            bar.set_position(0);
            return;
        }
        if let Ok(mut state) = self.phase.lock() {
            *state = Phase { name: phase.to_string(), total, done: 0, reported_quarter: 0 };
        }
        if total > 0 {
            eprintln!("import: {phase} ({total})");
        } else {
            eprintln!("import: {phase}");
        }
    }

    fn advance(&self, steps: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(steps);
            return;
        }
        let Ok(mut state) = self.phase.lock() else { return };
        state.done += steps;
        if state.total >= 10_000 {
            let quarter = state.done * 4 / state.total;
            if quarter > state.reported_quarter && quarter < 4 {
                state.reported_quarter = quarter;
                eprintln!("import: {} {}/{}", state.name, state.done, state.total);
            }
        }
    }
}
