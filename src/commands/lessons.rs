//! `wirelab lessons`, `wirelab lesson ID`, `wirelab check [ID]` and `wirelab hint ID`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use colored::Colorize;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::Error;
use crate::cli::{CheckArgs, HintArgs, LessonArgs};
use crate::lessons::check::{grade_questions, run_exercise};
use crate::lessons::progress::Progress;
use crate::lessons::{Lesson, catalogue, find};

/// The list of lessons with the learner's progress.
pub fn list() -> Result<ExitCode, Error> {
    let lessons = catalogue()?;
    let progress = Progress::load();
    let mut b = Builder::default();
    b.push_record(["", "lesson", "terms", "exercises", "questions"]);
    for l in &lessons {
        let ex_done = l
            .exercises
            .iter()
            .filter(|e| progress.exercises.contains(&e.id))
            .count();
        let q_done = l
            .questions
            .iter()
            .filter(|q| progress.questions.contains(&format!("{}/{}", l.id, q.id)))
            .count();
        let mark = if progress.read.contains(&l.id) {
            "✓"
        } else {
            " "
        };
        b.push_record([
            mark.to_string(),
            format!("{}  {}", l.id, l.title),
            l.terms.join(", "),
            format!("{ex_done}/{}", l.exercises.len()),
            format!("{q_done}/{}", l.questions.len()),
        ]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    println!("{t}");
    println!(
        "Open one with `wirelab lesson ID` (ID as listed, or its number); grade yourself with `wirelab check`."
    );
    Ok(ExitCode::SUCCESS)
}

/// Show a lesson's text (paged when long), then run its live demo.
pub fn show(args: &LessonArgs) -> Result<ExitCode, Error> {
    let lessons = catalogue()?;
    let Some(lesson) = find(&lessons, &args.id) else {
        return Err(format!(
            "no lesson {:?}; the lessons are: {}",
            args.id,
            lessons
                .iter()
                .map(|l| l.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    };
    let text = std::fs::read_to_string(lesson.readme())
        .map_err(|e| format!("{}: {e}", lesson.readme().display()))?;
    page(&text)?;
    let mut progress = Progress::load();
    progress.read.insert(lesson.id.clone());
    progress.save();
    if args.no_demo {
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    println!("{} wirelab {}", "Live demo:".bold(), lesson.demo.join(" "));
    println!();
    run_demo(lesson, args.pace.pace())
}

/// Run a lesson's demo as a fresh wirelab process (a demo in the lab needs a process of its
/// own, because namespaces are set up before any thread starts), one packet per key press
/// with `--step`.
pub fn run_demo(lesson: &Lesson, pace: crate::instructor::Pace) -> Result<ExitCode, Error> {
    let color = colored::control::SHOULD_COLORIZE.should_colorize();
    let mut st = crate::instructor::stdout_stepper(pace, color);
    let args = crate::lessons::demo::resolve(&lesson.demo);
    let out = crate::lessons::demo::run(&args, color, super::term_width(), &mut st)?;
    eprint!("{}", out.stderr);
    if out.quit || out.success() {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(
        out.status.and_then(|s| s.code()).unwrap_or(1).clamp(1, 255) as u8,
    ))
}

/// Print text through a pager when it is longer than the terminal, else directly.
fn page(text: &str) -> std::io::Result<()> {
    let rows: usize = std::env::var("LINES")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(40);
    if std::io::stdout().is_terminal() && text.lines().count() > rows {
        let pager = std::env::var("PAGER").unwrap_or_else(|_| "less -FRX".into());
        let mut parts = pager.split_whitespace();
        if let Some(prog) = parts.next()
            && let Ok(mut child) = Command::new(prog).args(parts).stdin(Stdio::piped()).spawn()
        {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            let _ = child.wait();
            return Ok(());
        }
    }
    print!("{text}");
    Ok(())
}

/// Grade the learner: trace questions and code exercises, rustlings-style.
pub fn check(args: &CheckArgs) -> Result<ExitCode, Error> {
    let lessons = catalogue()?;
    let chosen: Vec<&Lesson> = match &args.id {
        Some(id) => vec![find(&lessons, id).ok_or_else(|| format!("no lesson {id:?}"))?],
        None => lessons.iter().collect(),
    };
    let root = chosen
        .first()
        .and_then(|l| l.dir.parent())
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or("cannot find the repository root")?;
    if args.answer_key {
        for lesson in &chosen {
            if lesson.questions.is_empty() {
                continue;
            }
            let trace = crate::lessons::questions::load_trace(&lesson.trace())?;
            println!(
                "# {} — answers worked out from {}",
                lesson.id,
                lesson.trace().display()
            );
            for q in &lesson.questions {
                match crate::lessons::questions::compute(&q.compute, &trace) {
                    Ok(a) => println!("{} = {:?}", q.id, a),
                    Err(e) => println!("# {}: cannot be worked out: {e}", q.id),
                }
            }
            println!();
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut progress = Progress::load();
    let mut next: Option<String> = None;
    let (mut done, mut total) = (0, 0);
    for lesson in chosen {
        println!("{} {}", lesson.id.bold(), lesson.title);
        match grade_questions(lesson, &lesson.answers()) {
            Ok(results) => {
                for r in results {
                    total += 1;
                    let key = format!("{}/{}", lesson.id, r.id);
                    if r.passed() {
                        done += 1;
                        progress.questions.insert(key);
                        println!("  {} question {}", "✓".green(), r.id);
                    } else {
                        progress.questions.remove(&key);
                        let why = match (&r.given, &r.right) {
                            (_, Err(e)) => format!("cannot work out the answer: {e}"),
                            (None, _) => "not answered yet".to_string(),
                            (Some(g), _) if g.trim().is_empty() => "not answered yet".to_string(),
                            (Some(g), _) => format!("{g:?} is not right"),
                        };
                        println!("  {} question {}: {why}", "✗".red(), r.id);
                        println!("      {}", r.ask);
                        next.get_or_insert_with(|| {
                            format!(
                                "answer {} in {} (hint: wirelab hint {})",
                                r.id,
                                lesson.answers().display(),
                                r.id
                            )
                        });
                    }
                }
            }
            Err(e) => println!("  {} questions: {e}", "!".yellow()),
        }
        for ex in &lesson.exercises {
            total += 1;
            let r = run_exercise(&root, ex);
            if r.passed {
                done += 1;
                progress.exercises.insert(ex.id.clone());
                println!("  {} exercise {}", "✓".green(), ex.id);
            } else {
                progress.exercises.remove(&ex.id);
                println!("  {} exercise {} ({})", "✗".red(), ex.id, ex.file);
                for line in r.message.lines().take(10) {
                    println!("      {line}");
                }
                next.get_or_insert_with(|| {
                    format!(
                        "finish {} (hint: wirelab hint {})",
                        lesson.dir.join(&ex.file).display(),
                        ex.id
                    )
                });
            }
        }
    }
    progress.save();
    println!();
    println!("{done} of {total} done.");
    match next {
        Some(n) => {
            println!("{} {n}", "Next:".bold());
            Ok(ExitCode::from(1))
        }
        None => {
            println!("{}", "All done here. Well played.".green());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Print the hint of an exercise or question; without an id, the list of them.
pub fn hint(args: &HintArgs) -> Result<ExitCode, Error> {
    let lessons = catalogue()?;
    let Some(id) = &args.id else {
        print!("{}", hint_list(&lessons));
        return Ok(ExitCode::SUCCESS);
    };
    for l in &lessons {
        if let Some(e) = l.exercises.iter().find(|e| &e.id == id) {
            println!("{}", e.hint);
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(q) = l.questions.iter().find(|q| &q.id == id) {
            println!("{}\n\n{}", q.ask, q.hint);
            return Ok(ExitCode::SUCCESS);
        }
    }
    Err(format!("no exercise or question called {id:?}; `wirelab hint` lists them all").into())
}

/// Every exercise and trace question that has a hint, lesson by lesson.
fn hint_list(lessons: &[Lesson]) -> String {
    let mut s = String::from(
        "Hints exist for these exercises and trace questions; `wirelab hint ID` shows one.\n",
    );
    for l in lessons {
        if l.exercises.is_empty() && l.questions.is_empty() {
            continue;
        }
        s.push_str(&format!("\n{}  {}\n", l.id.bold(), l.title));
        for e in &l.exercises {
            s.push_str(&format!(
                "  {:<22} exercise  lessons/{}/{}\n",
                e.id, l.id, e.file
            ));
        }
        for q in &l.questions {
            s.push_str(&format!("  {:<22} question  {}\n", q.id, q.ask));
        }
    }
    s
}
