// Ends one inclusion of hgemm_template.h: the next kernel level defines these afresh.
#undef GSV_T
#undef GSV_T_ATTR
#undef GSV_T_V
#undef GSV_T_VLEN
#undef GSV_T_ZERO
#undef GSV_T_LOADX
#undef GSV_T_LOADH
#undef GSV_T_LOADX_PART
#undef GSV_T_LOADH_PART
#undef GSV_T_FMA
#undef GSV_T_REDUCE
#undef GSV_T_MAXN
#undef GSV_T_INSTANCE
