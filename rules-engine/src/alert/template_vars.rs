//! Go rejects a template that uses an undeclared variable or an unknown
//! function when it parses it (`undefined variable "$x"`, `function "f" not
//! defined`); gotmpl only fails when it runs. Promtool reports both at load,
//! so this walks the parsed tree with Go's scoping: a
//! `{{$x := …}}` is visible until the end of the enclosing `if`, `range` or
//! `with` (including its `else`); each `define` starts with only `$`.

use gotmpl::parse::{BranchNode, Expr, ListNode, Node, Parser, PipeNode};

/// Go's built-in template functions, which gotmpl provides too.
const BUILTINS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

/// The first use of an undeclared variable or of a function that is neither
/// a builtin nor in `funcs`, in `src` (a template gotmpl has parsed without
/// error), as `(line, message)`.
pub fn undefined_name(src: &str, funcs: &[&str]) -> Option<(usize, String)> {
    let (main, defines) = Parser::new(src, "{{", "}}").ok()?.parse().ok()?;
    let w = Walker { funcs };
    w.list(&main, &mut vec!["$".to_string()]).or_else(|| {
        defines
            .iter()
            .find_map(|d| w.list(&d.body, &mut vec!["$".to_string()]))
    })
}

struct Walker<'a> {
    funcs: &'a [&'a str],
}

type Found = Option<(usize, String)>;

impl Walker<'_> {
    fn list(&self, list: &ListNode, scope: &mut Vec<String>) -> Found {
        list.nodes.iter().find_map(|n| self.node(n, scope))
    }

    fn node(&self, node: &Node, scope: &mut Vec<String>) -> Found {
        match node {
            Node::List(l) => self.list(l, scope),
            Node::Action(a) => {
                let found = self.pipe(&a.pipe, scope);
                scope.extend(a.pipe.decl.iter().map(|d| d.to_string()));
                found
            }
            Node::If(b) | Node::Range(b) | Node::With(b) => self.branch(b, scope),
            Node::Template(t) => t.pipe.as_ref().and_then(|p| self.pipe(p, scope)),
            Node::Define(d) => self.list(&d.body, &mut vec!["$".to_string()]),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => None,
        }
    }

    fn branch(&self, b: &BranchNode, scope: &[String]) -> Found {
        if let Some(found) = self.pipe(&b.pipe, scope) {
            return Some(found);
        }
        let mut inner: Vec<String> = scope.to_vec();
        inner.extend(b.pipe.decl.iter().map(|d| d.to_string()));
        let base = inner.clone();
        self.list(&b.body, &mut inner).or_else(|| {
            b.else_body
                .as_ref()
                .and_then(|e| self.list(e, &mut base.clone()))
        })
    }

    fn pipe(&self, p: &PipeNode, scope: &[String]) -> Found {
        let assigned_ok = |d: &str| !p.is_assign || scope.iter().any(|s| s == d);
        if let Some(d) = p.decl.iter().find(|d| !assigned_ok(d)) {
            return Some((p.pos.line, format!("undefined variable \"{d}\"")));
        }
        p.commands
            .iter()
            .flat_map(|c| &c.args)
            .find_map(|e| self.expr(e, scope))
    }

    fn expr(&self, e: &Expr, scope: &[String]) -> Found {
        match e {
            Expr::Variable(pos, name, _) if !scope.iter().any(|s| s == name.as_str()) => {
                Some((pos.line, format!("undefined variable \"{name}\"")))
            }
            Expr::Identifier(pos, name)
                if !BUILTINS.contains(&name.as_str()) && !self.funcs.contains(&name.as_str()) =>
            {
                Some((pos.line, format!("function \"{name}\" not defined")))
            }
            Expr::Pipe(_, p) => self.pipe(p, scope),
            Expr::Chain(_, inner, _) => self.expr(inner, scope),
            _ => None,
        }
    }
}
