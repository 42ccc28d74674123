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
    let width = super::term_width();
    let rows: Vec<LessonRow> = lessons
        .iter()
        .map(|l| LessonRow {
            read: progress.read.contains(&l.id),
            id: l.id.clone(),
            title: l.title.clone(),
            terms: l.terms.join(", "),
            exercises: (
                l.exercises
                    .iter()
                    .filter(|e| progress.exercises.contains(&e.id))
                    .count(),
                l.exercises.len(),
            ),
            questions: (
                l.questions
                    .iter()
                    .filter(|q| progress.questions.contains(&format!("{}/{}", l.id, q.id)))
                    .count(),
                l.questions.len(),
            ),
        })
        .collect();
    println!("{}", lessons_table(&rows, width));
    for line in crate::render::wrap(
        "Open one with `wirelab lesson ID` (ID as listed, or its number); grade yourself with `wirelab check`.",
        width,
    ) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of `wirelab lessons`.
struct LessonRow {
    read: bool,
    id: String,
    title: String,
    terms: String,
    /// Done, of how many.
    exercises: (usize, usize),
    questions: (usize, usize),
}

/// The lessons as a table in `width` columns. Wide enough, one row a lesson; narrower, each
/// lesson's id above its title, exercises and questions in one column, and the widest cells
/// wrapped at spaces (a rule between lessons keeps them apart): nothing is cut.
fn lessons_table(rows: &[LessonRow], width: usize) -> String {
    let mark = |r: &LessonRow| if r.read { "✓" } else { " " }.to_string();
    let mut b = Builder::default();
    b.push_record(["", "lesson", "terms", "exercises", "questions"]);
    for r in rows {
        b.push_record([
            mark(r),
            format!("{}  {}", r.id, r.title),
            r.terms.clone(),
            format!("{}/{}", r.exercises.0, r.exercises.1),
            format!("{}/{}", r.questions.0, r.questions.1),
        ]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    let wide = t.to_string();
    if wide.lines().all(|l| crate::render::text_width(l) <= width) {
        return wide;
    }
    // Cells wrapped here, at spaces, to widths worked out from the screen: 4 columns take 13
    // for borders and padding, the mark 1, the progress 9; the lesson column is at least as
    // wide as the longest id, and gets a little more than half of the rest.
    let longest_id = rows.iter().map(|r| r.id.chars().count()).max().unwrap_or(0);
    let rest = width.saturating_sub(13 + 1 + 9).max(30);
    let lesson_w = longest_id.max(rest * 11 / 20);
    let terms_w = rest.saturating_sub(lesson_w).max(10);
    let wrapped = |text: &str, w: usize| crate::render::wrap(text, w).join("\n");
    let mut b = Builder::default();
    b.push_record(["", "lesson", "terms", "exercises\nquestions"]);
    for r in rows {
        b.push_record([
            mark(r),
            format!("{}\n{}", r.id, wrapped(&r.title, lesson_w)),
            wrapped(&r.terms, terms_w),
            format!(
                "{}/{}\n{}/{}",
                r.exercises.0, r.exercises.1, r.questions.0, r.questions.1
            ),
        ]);
    }
    let mut t = b.build();
    t.with(Style::modern_rounded());
    t.to_string()
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
    let width = super::term_width();
    let Some(id) = &args.id else {
        print!("{}", hint_list(&lessons, width));
        return Ok(ExitCode::SUCCESS);
    };
    // A hint's lines as written, wrapped where the screen is narrower.
    let fit = |t: &str| match super::screen_width() {
        Some(w) => crate::say::fit(t, w),
        None => t.to_string(),
    };
    for l in &lessons {
        if let Some(e) = l.exercises.iter().find(|e| &e.id == id) {
            println!("{}", fit(&e.hint));
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(q) = l.questions.iter().find(|q| &q.id == id) {
            println!("{}\n\n{}", fit(&q.ask), fit(&q.hint));
            return Ok(ExitCode::SUCCESS);
        }
    }
    Err(format!("no exercise or question called {id:?}; `wirelab hint` lists them all").into())
}

/// Every exercise and trace question that has a hint, lesson by lesson, in `width` columns
/// (a question's text wraps under itself).
fn hint_list(lessons: &[Lesson], width: usize) -> String {
    let mut s = String::new();
    for line in crate::render::wrap(
        "Hints exist for these exercises and trace questions; `wirelab hint ID` shows one.",
        width,
    ) {
        s.push_str(&line);
        s.push('\n');
    }
    let id_w = lessons
        .iter()
        .flat_map(|l| {
            l.exercises
                .iter()
                .map(|e| e.id.chars().count())
                .chain(l.questions.iter().map(|q| q.id.chars().count()))
        })
        .max()
        .unwrap_or(0)
        .max(10);
    // `  ID  exercise  text`: the text starts after the id and the kind.
    let indent = 2 + id_w + 1 + 10;
    let room = width.saturating_sub(indent).max(20);
    let item = |s: &mut String, id: &str, kind: &str, text: &str| {
        for (n, line) in crate::render::wrap(text, room).iter().enumerate() {
            if n == 0 {
                s.push_str(&format!("  {id:<id_w$} {kind:<9} {line}\n"));
            } else {
                s.push_str(&format!("{:indent$}{line}\n", ""));
            }
        }
    };
    for l in lessons {
        if l.exercises.is_empty() && l.questions.is_empty() {
            continue;
        }
        s.push('\n');
        let head = format!("{}  {}", l.id, l.title);
        if crate::render::text_width(&head) <= width {
            s.push_str(&format!("{}  {}\n", l.id.bold(), l.title));
        } else {
            for line in crate::render::wrap(&head, width) {
                s.push_str(&line);
                s.push('\n');
            }
        }
        for e in &l.exercises {
            item(
                &mut s,
                &e.id,
                "exercise",
                &format!("lessons/{}/{}", l.id, e.file),
            );
        }
        for q in &l.questions {
            item(&mut s, &q.id, "question", &q.ask);
        }
    }
    s
}
