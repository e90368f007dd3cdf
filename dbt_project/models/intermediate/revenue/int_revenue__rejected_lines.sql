{#- Revenue lines kept out of fct_revenue, with why. One row per rejected revenue line. -#}
with lines as (select * from {{ ref('int_revenue__lines_converted') }}),

final as (
    select
        revenue_line_id, system, entity, source_id, line_no, revenue_date,
        amount, currency, unit_amount, source_file, source_row, rejection_reason
    from lines
    where rejection_reason is not null
)

select * from final
