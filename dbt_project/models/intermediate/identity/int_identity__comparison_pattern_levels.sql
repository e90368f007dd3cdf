{#- The comparison patterns of int_identity__comparison_patterns unpivoted: one row per
    (pattern_id, comparison) whose level is known (a missing value is no evidence and left out).
    A table on Spark, ephemeral on DuckDB: see int_identity__u_probabilities. -#}
{{ config(materialized=em_input_materialization()) }}
with patterns as (select * from {{ ref('int_identity__comparison_patterns') }}),

final as (
    {% for comparison in identity_comparisons() %}
    select pattern_id, '{{ comparison }}' as comparison, gamma_{{ comparison }} as level
    from patterns where gamma_{{ comparison }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from final
