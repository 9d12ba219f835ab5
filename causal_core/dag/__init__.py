"""The canonical causal DAG, a package whose files follow the steps: graph (access, validation) → edits →
roles → identification (backdoor; criterion = the complete adjustment criterion; frontdoor; instruments;
direct_effects; design = which of them the graph supports) → implications; defaults and project_links tie it
to datasets and the project.

``Project.dag`` (a :class:`DagSpec`) is the one DAG every stage reads. Everything here is pure: an edit
returns a *new* spec or raises :class:`DagEditError` with a specific reason, so a rejected edit can never
leave the graph half-changed. Structural roles are *derived* from the graph (never typed), and all
d-separation questions go through ``networkx`` (``is_d_separator`` / ``find_minimal_d_separator``); the only
path walking here is to *show* an open path that networkx has already said exists.

A node is **observed** when it is not latent and measures a data column; a node without a column (N01's
"Post-outreach engagement") cannot be adjusted for, exactly like a latent one.
"""

from __future__ import annotations

from causal_core.dag.constants import (  # noqa: F401
    _FORBIDDEN_NAME_CHARS,
    LARGE_GRAPH_NODES,
    MAX_DESIGN_PROBES,
    MAX_FRONTDOOR_SETS,
    MAX_FRONTDOOR_TESTS,
    MAX_IMPLICATIONS,
    MAX_INSTRUMENT_CANDIDATES,
    MAX_MINIMAL_SETS,
    MAX_NAME_LENGTH,
    MAX_PATHS_SHOWN,
    MAX_SUBSET_TESTS,
    NO_INSTRUMENT_MESSAGE,
    ROLE_NAMES,
    DagEditError,
    IdentificationError,
)
from causal_core.dag.criterion import (  # noqa: F401
    criterion_violation,
    forbidden_nodes,
    is_adjustment_set,
    minimal_adjustment_sets,
    proper_backdoor_graph,
    proper_causal_nodes,
)
from causal_core.dag.defaults import (  # noqa: F401
    DEFAULT_DAGS,
    ENGAGEMENT,
    RETENTION_COVARIATES,
    SUPPORT_CONFOUNDERS,
    _retention_dag,
    _support_dag,
    default_dag,
    roles_table,
    starter_dag,
)
from causal_core.dag.design import (  # noqa: F401
    OPEN_QUESTION_SOURCE,
    DesignSummary,
    design_questions,
    design_summary,
    update_open_questions,
)
from causal_core.dag.direct_effects import (  # noqa: F401
    DirectEffectResult,
    direct_effect_search,
    direct_effect_sets,
)
from causal_core.dag.edits import (  # noqa: F401
    _cell,
    _next_position,
    _set_focus,
    _update_node,
    add_edge,
    add_node,
    auto_layout,
    bind_columns,
    move_node,
    remove_edge,
    remove_node,
    rename_node,
    replace_edges,
    set_column,
    set_edge_rationale,
    set_label,
    set_latent,
    set_outcome,
    set_treatment,
    toggle_latent,
)
from causal_core.dag.frontdoor import (  # noqa: F401
    FrontdoorResult,
    frontdoor_search,
    frontdoor_sets,
    frontdoor_sets_in,
    satisfies_frontdoor,
)
from causal_core.dag.graph import (  # noqa: F401
    _cycle_if_added,
    _require_node,
    bidirected_edges,
    edge_text,
    find_cycle,
    format_cycle,
    get_node,
    hidden_parent_name,
    is_hidden,
    is_observed,
    name_problem,
    node_names,
    observed_names,
    to_networkx,
    validate_dag,
)
from causal_core.dag.identification import (  # noqa: F401
    BadControl,
    Identification,
    SetCheck,
    _bad_controls,
    _candidates,
    _causal_path_through,
    _enumerate_minimal_sets,
    _path_open,
    _path_text,
    _prepared,
    _set_preference,
    adjustment_columns,
    check_adjustment_set,
    display_name,
    find_open_path,
    identify,
    node_for_column,
    prepared_question,
    selection_warnings,
)
from causal_core.dag.implications import (  # noqa: F401
    Implication,
    ImplicationTest,
    _design,
    _residualise,
    conditional_independence_test,
    test_implications,
    testable_implications,
)
from causal_core.dag.instruments import (  # noqa: F401
    InstrumentSearch,
    InstrumentSet,
    NoInstrumentError,
    conditional_instruments,
    instrument_search,
    instruments_in,
    require_instruments,
)
from causal_core.dag.project_links import (  # noqa: F401
    bind_to_data,
    initial_dag,
    timing_conflicts,
)
from causal_core.dag.roles import (  # noqa: F401
    _d_separated,
    _is_structural_collider,
    _without_treatment_out_edges,
    node_roles,
    role_colour,
)
