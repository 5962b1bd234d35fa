//! The kinds of container: the levels of the hierarchy, and analyses.

use std::fmt;

use fw_model::{
    AcquisitionKind, AnalysisKind, ContainerKind, GroupKind, ProjectKind, SessionKind, SubjectKind,
};

/// Work generic over a container kind, run for a runtime [`Kind`] by [`Kind::with`].
pub(crate) trait PerKind {
    /// What the work returns.
    type Out;
    /// Runs the work for the kind `K`.
    fn run<K: ContainerKind>(self) -> Self::Out;
}

/// A kind of container, as stored in a row and named in paths (`projects`) and documents
/// (`project`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// The top of the hierarchy; holds projects and permissions, no files.
    Group,
    /// Below a group; its permissions govern everything below it.
    Project,
    /// A participant, below a project.
    Subject,
    /// A visit of a subject.
    Session,
    /// One scan of a session.
    Acquisition,
    /// Processing results, below any project, subject, session or acquisition.
    Analysis,
}

impl Kind {
    /// Every kind, from the top of the hierarchy down.
    pub(crate) const ALL: [Kind; 6] = [
        Kind::Group,
        Kind::Project,
        Kind::Subject,
        Kind::Session,
        Kind::Acquisition,
        Kind::Analysis,
    ];

    /// The kind named by a collection in a path: `projects` → project.
    pub(crate) fn from_collection(collection: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.collection() == collection)
    }

    /// The kind of a singular name, as rows and documents hold it: `project`.
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Calls `f` with this kind's fw-model marker: the one place that maps a runtime kind
    /// to its [`ContainerKind`], so that names and body types come from fw-model and are
    /// never spelled twice.
    pub(crate) fn with<F: PerKind>(self, f: F) -> F::Out {
        match self {
            Kind::Group => f.run::<GroupKind>(),
            Kind::Project => f.run::<ProjectKind>(),
            Kind::Subject => f.run::<SubjectKind>(),
            Kind::Session => f.run::<SessionKind>(),
            Kind::Acquisition => f.run::<AcquisitionKind>(),
            Kind::Analysis => f.run::<AnalysisKind>(),
        }
    }

    /// The singular name: `project` ([`ContainerKind::NAME`]).
    pub(crate) fn name(self) -> &'static str {
        self.names().1
    }

    /// The collection in paths: `projects` ([`ContainerKind::COLLECTION`]).
    pub(crate) fn collection(self) -> &'static str {
        self.names().0
    }

    fn names(self) -> (&'static str, &'static str) {
        struct Names;
        impl PerKind for Names {
            type Out = (&'static str, &'static str);
            fn run<K: ContainerKind>(self) -> Self::Out {
                (K::COLLECTION, K::NAME)
            }
        }
        self.with(Names)
    }

    /// The kind of the direct parent in the hierarchy (analyses hang anywhere).
    pub(crate) fn parent(self) -> Option<Kind> {
        match self {
            Kind::Group | Kind::Analysis => None,
            Kind::Project => Some(Kind::Group),
            Kind::Subject => Some(Kind::Project),
            Kind::Session => Some(Kind::Subject),
            Kind::Acquisition => Some(Kind::Session),
        }
    }

    /// The next level down (a group's projects, …, a session's acquisitions).
    pub(crate) fn child(self) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.parent() == Some(self))
    }

    /// Whether containers of this kind hold files and analyses (all but groups and
    /// analyses hold analyses; all but groups hold files).
    pub(crate) fn holds_analyses(self) -> bool {
        !matches!(self, Kind::Group | Kind::Analysis)
    }

    /// Whether `GET /{self}/{id}/{child}` lists children: the next level, a project's
    /// sessions and acquisitions (as the SDK's `ProjectsApi` asks), and the analyses of
    /// everything that holds them.
    pub(crate) fn lists(self, child: Kind) -> bool {
        self.child() == Some(child)
            || (self == Kind::Project && matches!(child, Kind::Session | Kind::Acquisition))
            || (child == Kind::Analysis && self.holds_analyses())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_collections_and_child_lists() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
            assert_eq!(Kind::from_collection(kind.collection()), Some(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(Kind::from_collection("containers"), None);
        assert_eq!(Kind::Session.child(), Some(Kind::Acquisition));
        assert_eq!(Kind::Acquisition.child(), None);
        let listed: Vec<(Kind, Kind)> = Kind::ALL
            .into_iter()
            .flat_map(|p| Kind::ALL.into_iter().map(move |c| (p, c)))
            .filter(|(p, c)| p.lists(*c))
            .collect();
        use Kind::*;
        assert_eq!(
            listed,
            [
                (Group, Project),
                (Project, Subject),
                (Project, Session),
                (Project, Acquisition),
                (Project, Analysis),
                (Subject, Session),
                (Subject, Analysis),
                (Session, Acquisition),
                (Session, Analysis),
                (Acquisition, Analysis),
            ]
        );
    }
}
