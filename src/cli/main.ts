// placeholder replaced by the CLI helper
console.log('ktrace');
