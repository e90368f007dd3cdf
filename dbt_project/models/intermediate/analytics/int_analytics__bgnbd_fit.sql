{#- The BG/NBD model (Fader, Hardie and Lee 2005) fitted by maximum likelihood to every buyer's
    history (int_analytics__customer_btyd, time in days; a sample above var
    clv_fit_max_customers, macro fit_sample): purchase rates are gamma(r, alpha)
    across customers, and after each repeat purchase a customer drops out with a probability
    that is beta(a, b) across customers. Customers with the same (x, t_x, T) share one
    likelihood term, weighted by their number; the grid search (macros/btyd.sql) runs
    var clv_fit_rounds rounds from r = 1, a = 0.5, b = 1 and alpha = the mean days per purchase
    (the rate's mean r / alpha is then the observed one). One row. -#}
{{ config(pre_hook=deep_query_hooks()) }}
with btyd as (select * from {{ ref('int_analytics__customer_btyd') }}),

fitted as (
    {{ fit_sample('btyd', 'customer_id') }}
),

histories as (
    select
        frequency as x,
        recency_days as t_x,
        age_days as t,
        count(*) as weight
    from fitted
    group by frequency, recency_days, age_days
),

start as (
    select
        0.0 as ln_r,
        ln(greatest(sum(weight * t), 1) * 1.0 / greatest(sum(weight * (x + 1)), 1)) as ln_alpha,
        ln(0.5) as ln_a,
        0.0 as ln_b
    from histories
),

{{ grid_search_cte(
    'search', ['r', 'alpha', 'a', 'b'], 'start', 'histories',
    bgnbd_log_likelihood('r', 'alpha', 'a', 'b', 'x', 't_x', 't'),
    var('clv_fit_rounds')) }},

final as (
    select
        search.r,
        search.alpha,
        search.a,
        search.b,
        search.log_likelihood,
        search.step as final_step,
        totals.customer_count
    from search_{{ var('clv_fit_rounds') }} as search
    cross join (select sum(weight) as customer_count from histories) as totals
)

select * from final
