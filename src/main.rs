//! The `rask` command-line tool.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use rask::demo::{DemoConfig, Moments};
use rask::pipeline::PipelineConfig;
use rask::scheduler::TaskTimings;
use rask::{ComputeOptions, Scheduler};

/// Rask: scalable machine learning on task graphs.
#[derive(Parser, Debug)]
#[command(name = "rask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fit a model (or a pipeline) on a .npy, CSV or Parquet file and save it to a model file.
    #[command(after_long_help = FIT_EXAMPLES)]
    Fit(FitArgs),
    /// Stream a saved model's predictions over a file or folder of any size to .npy or Parquet files.
    #[command(after_long_help = PREDICT_EXAMPLES)]
    Predict(PredictArgs),
    /// Run a hyperparameter sweep described by a TOML file: leaderboard, best model, cv_results, resumable.
    #[command(after_long_help = SWEEP_EXAMPLES)]
    Sweep(SweepArgs),
    /// List the estimators that fit, predict and sweep accept, with their kinds.
    Estimators,
    /// Start workers on a batch system: `rask cluster slurm --jobs N --scheduler ADDR`.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Run the end-to-end ML pipeline (the default): generate, scale, PCA, k-means, logistic regression, batch predict.
    Demo(PipelineArgs),
    /// Run the task-graph demo: a tree reduction over generated numbers on every scheduler.
    GraphDemo(DemoArgs),
    /// Print the version, the registry fingerprint and every registered op and codec.
    Info,
    /// Run a distributed scheduler (workers and clients connect to it).
    Scheduler(SchedulerArgs),
    /// Run a distributed worker that joins a scheduler.
    Worker(WorkerArgs),
}

const FIT_EXAMPLES: &str = "Examples:
  rask fit --data iris.csv --label species --model logistic_regression --param c=0.5 -o iris.rask
  rask fit --data x.npy --y y.npy --step standard_scaler --model sgd_classifier --param alpha=1e-4
  rask fit --data points.parquet --model kmeans --param n_clusters=5 -o km.rask
  rask fit job.toml               # [data], [model] (with [[model.steps]]) and `output` in TOML

Parameters use scikit-learn's names; `step__param` reaches a step (`--param pca__n_components=5`).
`rask estimators` lists the estimators.";

const PREDICT_EXAMPLES: &str = "Examples:
  rask predict iris.rask new.csv -o predictions/
  rask predict model.rask shards/ -o out/ --output-format parquet --proba
  rask predict model.rask big.npy -o out/ --scheduler 10.0.0.5:8786

One output per input file (`<stem>-0000`, `<stem>-0001`, ... when a file spans several blocks):
`<stem>.npy` holds the predictions (integer labels, values for a regressor, new features for a
transformer); with --proba, `<stem>.predictions.npy` and `<stem>.proba.npy`. Parquet writes one
`<stem>.parquet` per input with a column per output.";

const SWEEP_EXAMPLES: &str = "Example sweep.toml:
  [data]
  path = \"train.csv\"
  label = \"target\"

  [model]
  estimator = \"logistic_regression\"
  [[model.steps]]
  estimator = \"standard_scaler\"

  [search]
  method = \"grid\"            # grid | randomized | hyperband | successive_halving | asha
  cv = 5
  scoring = \"accuracy\"
  space = { c = [0.01, 0.1, 1.0, 10.0], standard_scaler__with_mean = [true, false] }
  # randomized: n_iter = 20, seed = 0, and distributions: c = { log_uniform = [1e-3, 1e2] }
  # hyperband / asha / successive_halving: max_iter = 27 (partial_fit calls), aggressiveness = 3

  [output]
  dir = \"sweep-out\"          # best_model.rask, cv_results.csv, cv_results.json, checkpoint.bin

  rask sweep sweep.toml        # run again after an interruption: it resumes from the checkpoint";

/// Where a job runs.
#[derive(Args, Debug, Clone)]
struct RunArgs {
    /// Threads for the threaded scheduler (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Run on the distributed scheduler at this address (token from RASK_TOKEN or the token file).
    #[arg(long, conflicts_with_all = ["threads", "local_cluster"])]
    scheduler: Option<String>,
    /// Run on a local cluster of this many worker processes.
    #[arg(long, conflicts_with = "threads")]
    local_cluster: Option<usize>,
    /// With --scheduler: seconds of silence from the scheduler (it sends a keepalive every
    /// second) after which the job fails instead of waiting.
    #[arg(long, requires = "scheduler", value_parser = parse_seconds)]
    scheduler_timeout: Option<f64>,
    /// How to reach `--scheduler`: the same token and TLS options as `rask worker`.
    #[command(flatten)]
    security: SecurityArgs,
}

#[derive(Args, Debug, Clone)]
struct DataArgs {
    /// The data: a .npy, CSV or Parquet file.
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// The data format (default: from the extension).
    #[arg(long, value_enum)]
    format: Option<rask::jobs::DataFormat>,
    /// The label (target) column of a CSV or Parquet file, by name or position.
    #[arg(long)]
    label: Option<String>,
    /// Feature columns, comma-separated names or positions (default: all but the label).
    #[arg(long, value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// CSV columns of strings to read as categories, comma-separated (empty fields are NaN).
    #[arg(long, value_delimiter = ',')]
    categorical: Option<Vec<String>>,
    /// The targets of a .npy feature file: a 1-D .npy file.
    #[arg(long)]
    y: Option<std::path::PathBuf>,
    /// Rows per block.
    #[arg(long)]
    chunk_rows: Option<usize>,
    /// CSV field delimiter (default `,`, tab for .tsv).
    #[arg(long)]
    delimiter: Option<char>,
    /// The CSV file has no header line (columns are then named by position).
    #[arg(long)]
    no_header: bool,
}

#[derive(Args, Debug, Clone)]
struct FitArgs {
    /// A TOML job file with [data], [model] and `output` (flags override it).
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// The estimator, by name (see `rask estimators`).
    #[arg(long)]
    model: Option<String>,
    /// A parameter, name=value; repeat for more. `step__name=value` sets a step's.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// A transformer step before the model, by name; repeat for more, in order.
    #[arg(long = "step", value_name = "ESTIMATOR")]
    steps: Vec<String>,
    /// The model file to write (default: model.rask).
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
    /// No progress spinner or lines.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Debug, Clone)]
struct PredictArgs {
    /// The model file (from `rask fit` or `rask sweep`).
    model: std::path::PathBuf,
    /// A file, or a folder of .npy, CSV or Parquet files.
    input: std::path::PathBuf,
    /// The output folder (created if missing).
    #[arg(short, long)]
    output: std::path::PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value_t = OutFormat::Npy)]
    output_format: OutFormat,
    /// The input format (default: from the extensions).
    #[arg(long, value_enum)]
    format: Option<rask::jobs::DataFormat>,
    /// Also write class probabilities (classifiers).
    #[arg(long)]
    proba: bool,
    /// Rows per block (.npy and CSV inputs; Parquet blocks are its row groups). Memory is a
    /// few blocks per thread.
    #[arg(long, default_value_t = 250_000)]
    chunk_rows: usize,
    /// No progress bar or lines.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OutFormat {
    /// One .npy file per output and input file.
    Npy,
    /// One Parquet file per input file.
    Parquet,
}

#[derive(Args, Debug, Clone)]
struct SweepArgs {
    /// The sweep's TOML file.
    config: std::path::PathBuf,
    /// The output folder (overrides [output] dir).
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
    /// No progress lines.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum ClusterCommand {
    /// Submit N `rask worker` jobs to SLURM with sbatch, each joining the scheduler at --scheduler.
    #[command(after_long_help = SLURM_EXAMPLES)]
    Slurm(SlurmArgs),
}

const SLURM_EXAMPLES: &str = "Examples:
  rask scheduler --listen 0.0.0.0:8786 &                      # on the login node
  rask cluster slurm --scheduler login01:8786 --jobs 4 --cores 8 --memory 16G --walltime 02:00:00 \\
      --partition compute --across-nodes
  rask cluster slurm --scheduler login01:8786 --jobs 4 --print-script   # show the batch script only
  rask cluster slurm --cancel 1234 1235                                  # scancel those jobs

The token is read by each worker from the token file (shared home directory) or RASK_TOKEN,
which sbatch passes into the job; it never appears in the script.";

#[derive(Args, Debug, Clone)]
struct SlurmArgs {
    /// The scheduler's address, as the compute nodes reach it.
    #[arg(long, required_unless_present = "cancel")]
    scheduler: Option<String>,
    /// Worker jobs to submit.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Cores per job (the worker's threads).
    #[arg(long, default_value_t = 1)]
    cores: usize,
    /// Memory per job (suffixes k, M, G); the worker's limit is 95 % of it.
    #[arg(long, value_parser = parse_bytes)]
    memory: Option<u64>,
    /// Wall time per job, HH:MM:SS.
    #[arg(long)]
    walltime: Option<String>,
    /// The partition.
    #[arg(long)]
    partition: Option<String>,
    /// The account to charge.
    #[arg(long)]
    account: Option<String>,
    /// The job name.
    #[arg(long)]
    job_name: Option<String>,
    /// The rask binary on the compute nodes (default: this one).
    #[arg(long)]
    worker_program: Option<std::path::PathBuf>,
    /// The token file the workers read (default: theirs, ~/.config/rask/token).
    #[arg(long)]
    token_file: Option<std::path::PathBuf>,
    /// Folder for the jobs' output files.
    #[arg(long)]
    log_dir: Option<std::path::PathBuf>,
    /// Workers listen on every interface and advertise their host name (workers on several nodes).
    #[arg(long)]
    across_nodes: bool,
    /// An extra `#SBATCH` directive, e.g. `--gres=gpu:1`; repeat for more.
    #[arg(long = "directive", value_name = "DIRECTIVE")]
    directives: Vec<String>,
    /// Print the batch script and submit nothing.
    #[arg(long)]
    print_script: bool,
    /// Cancel these job ids (scancel) instead of submitting.
    #[arg(long, num_args = 1.., conflicts_with_all = ["print_script", "scheduler"])]
    cancel: Option<Vec<String>>,
}

fn cluster(cmd: ClusterCommand) -> anyhow::Result<()> {
    let ClusterCommand::Slurm(a) = cmd;
    if let Some(ids) = &a.cancel {
        rask::jobqueue::SlurmJobs::cancel(ids)?;
        println!("cancelled {} job(s): {}", ids.len(), ids.join(" "));
        return Ok(());
    }
    let Some(address) = &a.scheduler else {
        bail!("--scheduler ADDR is required to submit workers");
    };
    let mut jobs =
        rask::jobqueue::SlurmJobs::new(address.clone()).jobs(a.jobs).cores(a.cores).across_nodes(a.across_nodes);
    if let Some(m) = a.memory {
        jobs = jobs.memory(m);
    }
    if let Some(w) = &a.walltime {
        jobs = jobs.walltime(w);
    }
    if let Some(p) = &a.partition {
        jobs = jobs.partition(p);
    }
    if let Some(acc) = &a.account {
        jobs = jobs.account(acc);
    }
    if let Some(n) = &a.job_name {
        jobs = jobs.job_name(n);
    }
    if let Some(w) = &a.worker_program {
        jobs = jobs.worker_program(w.clone());
    }
    if let Some(t) = &a.token_file {
        jobs = jobs.token_file(t.clone());
    }
    if let Some(d) = &a.log_dir {
        jobs = jobs.log_dir(d.clone());
    }
    for d in &a.directives {
        jobs = jobs.extra_directive(d);
    }
    if a.print_script {
        print!("{}", jobs.job_script()?);
        return Ok(());
    }
    jobs.check()?;
    if !rask::jobqueue::SlurmJobs::sbatch_available() {
        bail!("sbatch was not found on PATH: run this on a SLURM login node (or use --print-script)");
    }
    let ids = jobs.submit()?;
    println!("submitted {} worker job(s): {}", ids.len(), ids.join(" "));
    println!("cancel them with: rask cluster slurm --cancel {}", ids.join(" "));
    Ok(())
}

#[derive(Args, Debug, Clone)]
struct SecurityArgs {
    /// The token file (the token is also read from RASK_TOKEN, which wins). A scheduler creates
    /// it, readable by the user only, if it does not exist. Default: ~/.config/rask/token.
    #[arg(long)]
    token_file: Option<std::path::PathBuf>,
    /// Turn authentication off (not recommended: anyone who reaches the port can run ops).
    #[arg(long)]
    no_auth: bool,
    /// TLS certificate (PEM) of this process; needs --tls-key and --tls-ca.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    tls_cert: Option<std::path::PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// CA certificate (PEM) that signs every process's certificate.
    #[arg(long, requires = "tls_cert")]
    tls_ca: Option<std::path::PathBuf>,
    /// The name the certificates are issued for.
    #[arg(long, default_value = "rask", requires = "tls_cert")]
    tls_name: String,
    /// Largest frame accepted, in bytes (suffixes k, M, G allowed).
    #[arg(long, default_value = "1G", value_parser = parse_bytes)]
    max_frame: u64,
    /// Seconds a cluster connection may go without a sign of life from its peer (connecting,
    /// handshakes, and a peer cut off by a network partition, found through TCP keepalive and
    /// TCP_USER_TIMEOUT) before it counts as dead.
    #[arg(long, default_value_t = 30.0, value_parser = parse_seconds)]
    tcp_timeout: f64,
}

/// `--max-frame`'s default, 1 GiB (keep in step with its `default_value`).
const DEFAULT_MAX_FRAME: u64 = 1 << 30;

#[derive(Args, Debug, Clone)]
struct SchedulerArgs {
    /// Address to listen on (use 0.0.0.0:8786 to accept other machines).
    #[arg(long, default_value = "127.0.0.1:8786")]
    listen: String,
    /// Address of the status page and JSON endpoint. Bound to anything but loopback, it asks for
    /// the cluster token (`?token=TOKEN` or an `Authorization: Bearer TOKEN` header).
    #[arg(long, default_value = "127.0.0.1:8787")]
    status: String,
    /// Do not serve the status page.
    #[arg(long)]
    no_status: bool,
    /// Seconds of silence after which a worker is considered dead.
    #[arg(long, default_value_t = 10.0)]
    heartbeat_timeout: f64,
    /// Workers that may die running one task before it fails as poison.
    #[arg(long, default_value_t = 3)]
    poison_limit: u32,
    /// Seconds that ready tasks may wait with no worker connected before they fail with a
    /// "no workers" error (default: they wait; a warning goes to the log and the clients after 5 s).
    #[arg(long, value_parser = parse_seconds)]
    no_workers_timeout: Option<f64>,
    #[command(flatten)]
    security: SecurityArgs,
}

#[derive(Args, Debug, Clone)]
struct WorkerArgs {
    /// The scheduler's address.
    #[arg(long)]
    scheduler: String,
    /// Address to serve data to peers on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Address peers should use to reach this worker, if not the listening one.
    #[arg(long)]
    advertise: Option<String>,
    /// Compute threads (default: one per core).
    #[arg(long)]
    nthreads: Option<usize>,
    /// Memory limit for held results, in bytes (suffixes k, M, G): spill above 60 %, pause above 80 %.
    #[arg(long, value_parser = parse_bytes)]
    memory_limit: Option<u64>,
    /// Directory for spill files (default: $TMPDIR/rask-<uid>, created mode 0700 and refused if
    /// another user owns it). The worker spills into a private rask-spill-* subdirectory (0700,
    /// files 0600) that it removes on exit; on start it removes the rask-spill-* directories
    /// left there by workers that were killed.
    #[arg(long)]
    spill_dir: Option<std::path::PathBuf>,
    /// Seconds to keep trying to reach the scheduler, at start and when joining again.
    #[arg(long, default_value_t = 20.0)]
    connect_timeout: f64,
    /// Seconds of silence from the scheduler (it sends a keepalive every second) after which the
    /// worker drops its connection and results and joins again as a fresh worker.
    #[arg(long, default_value_t = 60.0, value_parser = parse_seconds)]
    scheduler_timeout: f64,
    #[command(flatten)]
    security: SecurityArgs,
}

/// Parses a positive, finite number of seconds.
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x < 1e9 => Ok(x),
        _ => Err(format!("`{s}` is not a positive number of seconds")),
    }
}

/// Parses `123`, `64k`, `512M`, `4G` (powers of 1024) or `4GB`.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix(['B', 'b']).unwrap_or(t);
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        Some((i, 't' | 'T')) => (&t[..i], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a size (examples: 4096, 64k, 512M, 4G)"))?;
    if !n.is_finite() || n <= 0.0 {
        return Err(format!("`{s}` must be a positive size"));
    }
    Ok((n * mult as f64).round() as u64)
}

fn security(args: &SecurityArgs, create_token: bool) -> anyhow::Result<(rask::distributed::Security, String)> {
    use rask::distributed::{load_or_create_token, read_token, Security, TlsConfig, TOKEN_ENV};
    let path = args.token_file.clone().unwrap_or_else(rask::distributed::default_token_file);
    let (token, source) = if args.no_auth {
        (String::new(), "authentication off".to_string())
    } else if let Ok(t) = std::env::var(TOKEN_ENV) {
        (t, format!("token from {TOKEN_ENV}"))
    } else if create_token {
        (load_or_create_token(&path)?, format!("token file {}", path.display()))
    } else {
        (read_token(&path)?, format!("token file {}", path.display()))
    };
    if !args.no_auth && token.is_empty() {
        bail!("the token is empty; pass --no-auth to turn authentication off explicitly");
    }
    let mut sec = Security::new(rask::registry(), token)
        .with_max_frame(args.max_frame as usize)
        .with_tcp_timeout(std::time::Duration::from_secs_f64(args.tcp_timeout));
    if let (Some(cert), Some(key), Some(ca)) = (&args.tls_cert, &args.tls_key, &args.tls_ca) {
        sec = sec.with_tls(TlsConfig::from_pem_files(cert, key, ca, &args.tls_name)?);
    }
    Ok((sec, source))
}

fn run_scheduler(args: SchedulerArgs) -> anyhow::Result<()> {
    rask::distributed::init_logging();
    let (security, source) = security(&args.security, true)?;
    let mut opts = rask::distributed::SchedulerOptions::new(security);
    opts.listen = args.listen;
    opts.status = (!args.no_status).then_some(args.status);
    if !(args.heartbeat_timeout.is_finite() && args.heartbeat_timeout > 0.0) {
        bail!("--heartbeat-timeout must be a positive number of seconds");
    }
    if args.poison_limit == 0 {
        bail!("--poison-limit must be at least 1");
    }
    opts.heartbeat_timeout = std::time::Duration::from_secs_f64(args.heartbeat_timeout);
    opts.no_workers_timeout = args.no_workers_timeout.map(std::time::Duration::from_secs_f64);
    opts.state.poison_limit = args.poison_limit;
    let handle = rask::distributed::SchedulerHandle::start(opts)?;
    eprintln!("scheduler listening on {} ({source})", handle.address());
    if let Some(s) = handle.status_address() {
        let loopback = s.parse::<std::net::SocketAddr>().is_ok_and(|a| a.ip().is_loopback());
        let q = if loopback { "" } else { "?token=TOKEN" };
        eprintln!("status page: http://{s}/{q}  (JSON: http://{s}/status.json{q})");
        if !loopback {
            eprintln!(
                "  beyond loopback the page needs the cluster token: ?token=TOKEN or `Authorization: Bearer TOKEN`"
            );
        }
    }
    handle.wait();
    Ok(())
}

fn run_worker(args: WorkerArgs) -> anyhow::Result<()> {
    rask::distributed::init_logging();
    let (security, _) = security(&args.security, false)?;
    let mut opts = rask::distributed::WorkerOptions::new(args.scheduler, security);
    opts.listen = args.listen;
    opts.advertise = args.advertise;
    if let Some(n) = args.nthreads {
        if n == 0 {
            bail!("--nthreads must be at least 1");
        }
        opts.nthreads = n;
    }
    if let Some(m) = args.memory_limit {
        opts.memory = rask::distributed::MemoryLimits::new(m);
    }
    if let Some(d) = args.spill_dir {
        opts.spill_dir = d;
    }
    if !(args.connect_timeout.is_finite() && args.connect_timeout >= 0.0) {
        bail!("--connect-timeout must be a non-negative number of seconds");
    }
    opts.connect_timeout = std::time::Duration::from_secs_f64(args.connect_timeout);
    opts.scheduler_timeout = std::time::Duration::from_secs_f64(args.scheduler_timeout);
    rask::distributed::run_worker(opts)?;
    Ok(())
}

#[derive(Args, Debug, Clone)]
struct DemoArgs {
    /// How many numbers to generate.
    #[arg(long, default_value_t = 20_000_000)]
    rows: u64,
    /// Numbers per block (one generate-and-reduce task per block).
    #[arg(long, default_value_t = 10_000)]
    chunk: u64,
    /// Inputs per merge task in the tree reduction.
    #[arg(long, default_value_t = 8)]
    split_every: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Which scheduler(s) to run on.
    #[arg(long, value_enum, default_value_t = Which::All)]
    scheduler: Which,
    /// Threads for the threaded scheduler (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Do not draw progress bars.
    #[arg(long)]
    no_progress: bool,
}

impl Default for DemoArgs {
    fn default() -> Self {
        // The defaults declared on the fields above, through clap itself so they cannot drift.
        match Cli::parse_from(["rask", "graph-demo"]).command {
            Some(Command::GraphDemo(a)) => a,
            _ => unreachable!("`rask graph-demo` parses to the graph demo command"),
        }
    }
}

#[derive(Args, Debug, Clone)]
struct PipelineArgs {
    /// Rows to generate (train and test together).
    #[arg(long, default_value_t = 2_000_000)]
    rows: usize,
    /// Features per row.
    #[arg(long, default_value_t = 20)]
    features: usize,
    /// Rows per block.
    #[arg(long, default_value_t = 100_000)]
    chunk_rows: usize,
    /// Principal components kept.
    #[arg(long, default_value_t = 10)]
    components: usize,
    /// Clusters for k-means.
    #[arg(long, default_value_t = 8)]
    clusters: usize,
    /// Seed of the data and every randomised step.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The Hyperband sweep's max_iter: the most partial_fit calls (blocks) one model gets.
    #[arg(long, default_value_t = 27)]
    sweep_max_iter: u64,
    /// Where the batch prediction job writes its label files and the plots are drawn.
    #[arg(long, default_value = "target/rask-demo")]
    out_dir: std::path::PathBuf,
    /// Draw no plots and write no prediction files (the predictions are still scored).
    #[arg(long)]
    no_output: bool,
    #[command(flatten)]
    run: RunArgs,
    /// Do not draw progress lines.
    #[arg(long)]
    no_progress: bool,
}

impl Default for PipelineArgs {
    fn default() -> Self {
        match Cli::parse_from(["rask", "demo"]).command {
            Some(Command::Demo(a)) => a,
            _ => unreachable!("`rask demo` parses to the demo command"),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    /// Threaded, then sync, then the serialisation-checked sync scheduler.
    All,
    /// A rayon pool.
    Threaded,
    /// One task at a time on the main thread.
    Sync,
    /// Sync, with every op and value round-tripped through the registry's codecs.
    Checked,
}

fn main() {
    // Before anything allocates much, and in workers too: freed blocks stay in the process for
    // the next task instead of being faulted in again (rask::memory).
    if let Err(e) = rask::memory::retain_freed_memory() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    // Started by a LocalCluster as one of its workers: become that worker.
    rask::distributed::run_worker_if_requested();
    let cli = Cli::parse();
    if !uses_the_network(&cli) {
        restore_sigpipe();
    }
    if let Err(e) = run(cli) {
        // The error and its causes on one line each, without a backtrace (which is for bugs,
        // not for a missing file or a bad flag).
        eprintln!("error: {e}");
        let mut shown = e.to_string();
        for cause in e.chain().skip(1) {
            // Many errors print their source in their own message: show each text once.
            let text = cause.to_string();
            if !shown.contains(&text) {
                eprintln!("  caused by: {text}");
            }
            shown = text;
        }
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => pipeline(PipelineArgs::default()),
        Some(Command::Fit(args)) => fit(args),
        Some(Command::Predict(args)) => predict(args),
        Some(Command::Sweep(args)) => sweep(args),
        Some(Command::Estimators) => {
            estimators();
            Ok(())
        }
        Some(Command::Cluster(cmd)) => cluster(cmd),
        Some(Command::Demo(args)) => pipeline(args),
        Some(Command::GraphDemo(args)) => demo(args),
        Some(Command::Info) => {
            info();
            Ok(())
        }
        Some(Command::Scheduler(args)) => run_scheduler(args),
        Some(Command::Worker(args)) => run_worker(args),
    }
}

/// Whether the command opens cluster connections or hosts a scheduler. Those keep SIGPIPE
/// ignored (Rust's default): with the default disposition, a write to a connection its peer
/// had just closed killed a worker silently (seen in the multi-host test), where it must be an
/// error on that one connection.
fn uses_the_network(cli: &Cli) -> bool {
    let run = match &cli.command {
        Some(Command::Scheduler(_) | Command::Worker(_) | Command::Cluster(_)) => return true,
        Some(Command::Fit(a)) => &a.run,
        Some(Command::Predict(a)) => &a.run,
        Some(Command::Sweep(a)) => &a.run,
        Some(Command::Demo(a)) => &a.run,
        _ => return false,
    };
    run.scheduler.is_some() || run.local_cluster.is_some()
}

/// A closed standard output (`rask info | head`) ends the process quietly, as it does any Unix
/// tool, instead of panicking in `println!`.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in `main`, before any thread starts; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The scheduler a job runs on, and the local cluster that must outlive it.
fn job_scheduler(run: &RunArgs) -> anyhow::Result<(Scheduler, Option<rask::distributed::LocalCluster>)> {
    if let Some(addr) = &run.scheduler {
        return Ok((connect(addr, &run.security, run.scheduler_timeout)?.scheduler(), None));
    }
    let sec = &run.security;
    let tcp_timeout_given = sec.tcp_timeout != rask::distributed::DEFAULT_TCP_TIMEOUT.as_secs_f64();
    if sec.token_file.is_some()
        || sec.no_auth
        || sec.tls_cert.is_some()
        || sec.max_frame != DEFAULT_MAX_FRAME
        || tcp_timeout_given
    {
        bail!("--token-file, --no-auth, --tls-*, --max-frame and --tcp-timeout apply only with --scheduler");
    }
    if let Some(n) = run.local_cluster {
        if n == 0 {
            bail!("--local-cluster needs at least one worker");
        }
        let cluster = rask::distributed::local_cluster(n).start().context("starting the local cluster")?;
        return Ok((cluster.client().scheduler(), Some(cluster)));
    }
    let s = match run.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => Scheduler::threaded_with(n).context("starting the thread pool")?,
        None => Scheduler::threaded(),
    };
    Ok((s, None))
}

/// A client of the scheduler at `addr`, with the security options `rask worker` takes, built
/// by the same code, and the scheduler silence it tolerates (default 60 s).
fn connect(
    addr: &str,
    args: &SecurityArgs,
    scheduler_timeout: Option<f64>,
) -> anyhow::Result<rask::distributed::Client> {
    let (security, _) = security(args, false)?;
    let mut opts = rask::distributed::ClientOptions::new(security);
    if let Some(t) = scheduler_timeout {
        opts.scheduler_timeout = std::time::Duration::from_secs_f64(t);
    }
    rask::distributed::Client::connect_with(addr, opts)
        .with_context(|| format!("connecting to the scheduler at {addr}"))
}

fn cwd() -> anyhow::Result<std::path::PathBuf> {
    std::env::current_dir().context("reading the working directory")
}

fn fit_spec(args: &FitArgs) -> anyhow::Result<rask::jobs::FitSpec> {
    use rask::jobs::{Column, DataSpec, FitSpec, ModelSpec, StepSpec};
    let mut spec = match &args.config {
        Some(path) => {
            let mut spec: FitSpec = rask::jobs::spec::read_toml(path)?;
            let base = path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(cwd, |p| Ok(p.to_path_buf()))?;
            spec.data.resolve_paths(&base);
            if let Some(o) = spec.output.as_mut().filter(|o| o.is_relative()) {
                *o = base.join(&*o);
            }
            spec
        }
        None => {
            let Some(data) = &args.data.data else {
                bail!("give the training data with --data FILE (or a TOML job file; see `rask fit --help`)");
            };
            let Some(model) = &args.model else {
                bail!("give the estimator with --model NAME (`rask estimators` lists them)");
            };
            FitSpec { data: DataSpec::new(data), model: ModelSpec::new(model), output: None }
        }
    };
    let d = &args.data;
    if let Some(p) = &d.data {
        spec.data.path = p.clone();
    }
    if let Some(f) = d.format {
        spec.data.format = Some(f);
    }
    if let Some(l) = &d.label {
        spec.data.label = Some(Column::parse(l));
    }
    if let Some(f) = &d.features {
        spec.data.features = Some(f.iter().map(|c| Column::parse(c)).collect());
    }
    if let Some(y) = &d.y {
        spec.data.y = Some(y.clone());
    }
    if let Some(c) = &d.categorical {
        spec.data.categorical = Some(c.iter().map(|c| Column::parse(c)).collect());
    }
    if let Some(c) = d.chunk_rows {
        spec.data.chunk_rows = c;
    }
    if let Some(c) = d.delimiter {
        spec.data.delimiter = Some(c);
    }
    if d.no_header {
        spec.data.header = false;
    }
    spec.data.resolve_paths(&cwd()?);
    if let Some(m) = &args.model {
        spec.model.estimator = m.clone();
    }
    for s in &args.steps {
        spec.model.steps.push(StepSpec { name: None, estimator: s.clone(), params: Default::default() });
    }
    let names = spec.model.step_names();
    for p in &args.params {
        let (name, value) = rask::jobs::spec::parse_param(p)?;
        match name.split_once("__") {
            Some((step, rest)) if step == spec.model.name => {
                spec.model.params.insert(rest.to_string(), value);
            }
            Some((step, rest)) => {
                let Some(i) = names.iter().position(|n| n == step).filter(|&i| i < spec.model.steps.len()) else {
                    bail!("--param {p}: there is no step named `{step}`; the steps are {}", names.join(", "));
                };
                spec.model.steps[i].params.insert(rest.to_string(), value);
            }
            None => {
                spec.model.params.insert(name, value);
            }
        }
    }
    if let Some(o) = &args.output {
        spec.output = Some(o.clone());
    }
    Ok(spec)
}

fn fit(args: FitArgs) -> anyhow::Result<()> {
    let spec = fit_spec(&args)?;
    let output = spec.output.clone().unwrap_or_else(|| "model.rask".into());
    let (scheduler, _cluster) = job_scheduler(&args.run)?;
    let steps = spec.model.step_names();
    println!(
        "fitting {} on {} ({} scheduler)",
        if steps.len() > 1 { format!("pipeline [{}]", steps.join(" -> ")) } else { spec.model.estimator.clone() },
        spec.data.path.display(),
        scheduler.name()
    );
    let report = rask::with_scheduler(&scheduler, || rask::jobs::fit_with_progress(&spec, &output, !args.no_progress))?;
    println!(
        "fitted {} on {} rows x {} features in {:.2} s{}",
        report.estimator,
        thousands(report.rows as u64),
        report.features,
        report.seconds,
        report.score.as_ref().map_or(String::new(), |(m, v)| format!("; training {m} {v:.4}"))
    );
    println!("model saved to {}", report.output.display());
    Ok(())
}

fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let cwd = cwd()?;
    let abs = |p: &std::path::Path| if p.is_relative() { cwd.join(p) } else { p.to_path_buf() };
    let spec = rask::jobs::PredictSpec {
        model: abs(&args.model),
        input: abs(&args.input),
        format: args.format,
        output: abs(&args.output),
        output_format: match args.output_format {
            OutFormat::Npy => rask::datasets::OutputFormat::Npy,
            OutFormat::Parquet => rask::datasets::OutputFormat::Parquet,
        },
        proba: args.proba,
        chunk_rows: args.chunk_rows,
        progress: !args.no_progress,
    };
    let (scheduler, _cluster) = job_scheduler(&args.run)?;
    let report = rask::with_scheduler(&scheduler, || rask::jobs::predict(&spec))?;
    println!(
        "predicted {} rows from {} input file(s) in {:.2} s ({:.2} M rows/s); {} file(s) in {}",
        thousands(report.rows),
        report.inputs,
        report.seconds,
        report.rows as f64 / report.seconds.max(1e-9) / 1e6,
        report.files.len(),
        spec.output.display()
    );
    if let Some(rss) = peak_rss_mb() {
        println!("peak resident memory {rss:.0} MB");
    }
    Ok(())
}

fn sweep(args: SweepArgs) -> anyhow::Result<()> {
    let mut spec: rask::jobs::SweepSpec = rask::jobs::spec::read_toml(&args.config)?;
    let base = args.config.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(cwd, |p| Ok(p.to_path_buf()))?;
    spec.data.resolve_paths(&base);
    if spec.output.dir.is_relative() {
        spec.output.dir = base.join(&spec.output.dir);
    }
    if let Some(o) = args.output {
        spec.output.dir = if o.is_relative() { cwd()?.join(o) } else { o };
    }
    let (scheduler, _cluster) = job_scheduler(&args.run)?;
    println!(
        "sweep: {:?} search over {} on {} ({} scheduler)",
        spec.search.method,
        spec.model.step_names().join(" -> "),
        spec.data.path.display(),
        scheduler.name()
    );
    let report = rask::with_scheduler(&scheduler, || rask::jobs::sweep(&spec, !args.no_progress))?;
    println!();
    print!("{}", report.leaderboard);
    println!();
    println!(
        "best {} {:.4} with {} ({} candidates, {:.2} s{})",
        report.metric,
        report.best_score,
        rask::ml::params::format_candidate(&report.best_params),
        report.candidates,
        report.seconds,
        if report.resumed { ", resumed from the checkpoint" } else { "" }
    );
    for f in &report.files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn estimators() {
    println!("{:<34} {:<12} {:<12} notes", "estimator", "kind", "partial_fit");
    for e in rask::catalog::ESTIMATORS {
        println!(
            "{:<34} {:<12} {:<12} {}",
            e.name,
            format!("{:?}", e.kind),
            if e.partial_fit { "yes" } else { "no" },
            e.note
        );
    }
    println!();
    println!("Transformers can also be steps before the final estimator (--step, or [[model.steps]]).");
}

fn info() {
    let reg = rask::registry();
    println!("rask {}", env!("CARGO_PKG_VERSION"));
    println!("registry fingerprint {}", reg.fingerprint_hex());
    println!("{} ops:", reg.n_ops());
    for (name, version) in reg.op_names() {
        println!("  {name} v{version}");
    }
    println!("{} codecs", reg.n_codecs());
}

fn pipeline(args: PipelineArgs) -> anyhow::Result<()> {
    let cfg = PipelineConfig {
        rows: args.rows,
        features: args.features,
        chunk_rows: args.chunk_rows,
        components: args.components,
        clusters: args.clusters,
        seed: args.seed,
        progress: !args.no_progress,
        sweep_max_iter: args.sweep_max_iter,
        out_dir: (!args.no_output).then(|| args.out_dir.clone()),
        ..PipelineConfig::default()
    };
    let (scheduler, _cluster) = job_scheduler(&args.run)?;
    let threads = if let Some(c) = &_cluster {
        if let Some(a) = c.status_address() {
            println!("  local cluster status page: http://{a}/");
        }
        format!("{} worker processes", args.run.local_cluster.unwrap_or(0))
    } else if let Some(addr) = &args.run.scheduler {
        format!("the cluster at {addr}")
    } else {
        format!("{} threads", args.run.threads.unwrap_or_else(rayon_threads))
    };
    println!(
        "Rask ML pipeline: {} rows × {} features in blocks of {}, on the {} scheduler ({threads})",
        thousands(cfg.rows as u64),
        cfg.features,
        thousands(cfg.chunk_rows as u64),
        scheduler.name(),
    );
    println!("  data in memory: {:.0} MB of f64 features", (cfg.rows * cfg.features * 8) as f64 / 1e6);
    println!();
    println!("{:<36} {:>8} {:>7} {:>8} {:>9}  result", "step", "time", "graphs", "tasks", "peak RSS");
    let total = Instant::now();
    let summary = rask::pipeline::run(&cfg, &scheduler, &mut |r| {
        println!(
            "{:<36} {:>7.2}s {:>7} {:>8} {:>9}  {}",
            r.step,
            r.seconds,
            r.computations,
            thousands(r.tasks),
            r.peak_rss_mb.map_or("-".to_string(), |m| format!("{m:.0} MB")),
            r.result
        );
    })?;
    println!();
    println!(
        "Total {:.2}s. Test accuracy: logistic regression {:.4}, naive Bayes {:.4}, Hyperband's best SGD {:.4} \
         (validation), smartcore tree {:.4}; {} rows predicted.",
        total.elapsed().as_secs_f64(),
        summary.logistic_accuracy,
        summary.naive_bayes_accuracy,
        summary.sweep_best_score,
        summary.parallel_post_fit_accuracy,
        thousands(summary.predicted_rows as u64)
    );
    if let Some(first) = summary.prediction_files.first() {
        let dir = first.parent().unwrap_or(first);
        println!("Predicted labels: {} .npy files in {}", summary.prediction_files.len(), dir.display());
    }
    for p in &summary.plots {
        println!("Plot: {}", p.display());
    }
    Ok(())
}

fn rayon_threads() -> usize {
    rayon::current_num_threads()
}

fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let cfg = DemoConfig { rows: args.rows, chunk: args.chunk, split_every: args.split_every, seed: args.seed };
    if let Err(e) = cfg.check() {
        bail!("invalid demo configuration: {e}");
    }
    if args.threads.is_some() && matches!(args.scheduler, Which::Sync | Which::Checked) {
        bail!(
            "--threads applies to the threaded scheduler only; it cannot be used with --scheduler {:?}",
            args.scheduler
        );
    }
    let threaded = match args.threads {
        Some(n) => Scheduler::threaded_with(n).context("starting the thread pool")?,
        None => Scheduler::threaded(),
    };
    let schedulers: Vec<Scheduler> = match args.scheduler {
        Which::All => vec![threaded, Scheduler::sync(), Scheduler::checked(rask::registry())],
        Which::Threaded => vec![threaded],
        Which::Sync => vec![Scheduler::sync()],
        Which::Checked => vec![Scheduler::checked(rask::registry())],
    };

    println!("Rask task-graph demo: mean, variance, min and max of {} uniform numbers", thousands(cfg.rows));
    println!(
        "  {} blocks of up to {} numbers, each generated from its own seeded stream; tree merge, {} inputs per merge",
        thousands(cfg.n_blocks()),
        thousands(cfg.chunk),
        cfg.split_every
    );
    let t = Instant::now();
    let (graph, root) = cfg.graph().context("building the graph")?;
    println!("  graph: {} nodes, built in {:.1} ms", thousands(graph.len() as u64), ms(t));
    println!();
    println!(
        "{:<14} {:>8} {:>10} {:>12} {:>6}  {:<20} {:<22}",
        "scheduler", "tasks", "time", "numbers/s", "held", "mean", "variance"
    );

    let mut results: Vec<Moments> = Vec::new();
    let mut slowest_prefix = None;
    for s in &schedulers {
        let timings = Arc::new(TaskTimings::new());
        let mut opts = ComputeOptions::new().callback(timings.clone());
        if !args.no_progress {
            opts = opts.progress(s.name());
        }
        let t = Instant::now();
        let out = s
            .compute_with(&graph, std::slice::from_ref(&root), &opts)
            .with_context(|| format!("computing on {}", s.name()))?;
        let secs = t.elapsed().as_secs_f64();
        let m: Moments = *out.values[0].get::<Moments>().context("reading the result")?;
        println!(
            "{:<14} {:>8} {:>8.1} ms {:>10.1} M {:>6}  {:<20.17} {:<22.17}",
            s.name(),
            thousands(out.stats.tasks_run as u64),
            secs * 1e3,
            cfg.rows as f64 / secs / 1e6,
            out.stats.peak_held,
            m.mean,
            m.variance()
        );
        if slowest_prefix.is_none() {
            slowest_prefix = Some((s.name(), timings.summary(), out.stats));
        }
        results.push(m);
    }

    let t = Instant::now();
    let direct = cfg.direct();
    println!(
        "{:<14} {:>8} {:>8.1} ms {:>10.1} M {:>6}  {:<20.17} {:<22.17}",
        "direct",
        "-",
        ms(t),
        cfg.rows as f64 / t.elapsed().as_secs_f64() / 1e6,
        "-",
        direct.mean,
        direct.variance()
    );
    println!("  (direct: the same blocks generated and reduced in a plain loop on one thread, no graph)");

    if let Some((name, summary, stats)) = slowest_prefix {
        println!();
        println!(
            "Optimisation on {name}: {} nodes -> {} after cull -> {} tasks after fusing each block's generate+moments chain",
            thousands(stats.plan.graph_nodes as u64),
            thousands(stats.plan.culled_nodes as u64),
            thousands(stats.plan.planned_nodes as u64)
        );
        println!("Time in tasks by prefix on {name}:");
        for (prefix, n, total) in summary {
            println!("  {prefix:<40} {:>8} tasks {:>10.1} ms", thousands(n as u64), total.as_secs_f64() * 1e3);
        }
    }

    println!();
    let identical = results.windows(2).all(|w| w[0] == w[1]);
    let first = results[0];
    let agrees = first.n == direct.n
        && first.min == direct.min
        && first.max == direct.max
        && (first.mean - direct.mean).abs() <= 1e-12
        && (first.variance() - direct.variance()).abs() <= 1e-12;
    println!("Every scheduler bit-identical: {}", if identical { "yes" } else { "NO" });
    println!("Agrees with the direct pass (to 1e-12): {}", if agrees { "yes" } else { "NO" });
    if let Some(rss) = peak_rss_mb() {
        println!("Peak resident memory: {rss:.0} MB (the data itself would be {:.0} MB)", cfg.rows as f64 * 8.0 / 1e6);
    }
    if !identical || !agrees {
        bail!("the schedulers disagree with each other or with the direct computation");
    }
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn peak_rss_mb() -> Option<f64> {
    rask::pipeline::peak_rss_mb()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(20_000_000), "20,000,000");
    }

    #[test]
    fn defaults_come_from_the_declared_arguments() {
        let d = DemoArgs::default();
        assert_eq!(d.rows, 20_000_000);
        assert_eq!(d.scheduler, Which::All);
        let p = PipelineArgs::default();
        assert_eq!((p.rows, p.features, p.chunk_rows), (2_000_000, 20, 100_000));
    }

    #[test]
    fn a_small_pipeline_runs() {
        let args = PipelineArgs { rows: 5_000, chunk_rows: 1_000, no_progress: true, ..PipelineArgs::default() };
        pipeline(args).unwrap();
        let bad = PipelineArgs { clusters: 1, no_progress: true, ..PipelineArgs::default() };
        assert!(pipeline(bad).unwrap_err().to_string().contains("clusters must be at least 2"));
    }

    #[test]
    fn threads_with_a_single_threaded_scheduler_is_refused() {
        let args = DemoArgs { threads: Some(2), scheduler: Which::Sync, rows: 10, ..DemoArgs::default() };
        let err = demo(args).unwrap_err();
        assert!(err.to_string().contains("--threads applies to the threaded scheduler only"), "{err}");
    }

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64k"), Ok(65536));
        assert_eq!(parse_bytes("1.5G"), Ok(1_610_612_736));
        assert_eq!(parse_bytes("512MB"), Ok(512 << 20));
        assert!(parse_bytes("lots").unwrap_err().contains("is not a size"));
        assert!(parse_bytes("0").is_err());
    }

    #[test]
    fn a_small_demo_runs_and_agrees() {
        let args = DemoArgs { rows: 50_000, chunk: 1_000, no_progress: true, ..DemoArgs::default() };
        demo(args).unwrap();
    }
}
